"""The machine-readable assessment (`assess --json`) and its versioned JSON Schema."""

from __future__ import annotations

from mlops_ladder.assess import level_title, overall_level
from mlops_ladder.assess_questionnaire import QuestionnaireResult
from mlops_ladder.assess_result import Assessment

# Raise on any change a reader could trip on (a field renamed, removed or retyped); adding a field is not one.
SCHEMA_VERSION = 1

_EVIDENCE = {
    "type": "object",
    "required": ["file", "line", "cell", "detail"],
    "properties": {
        "file": {"type": "string", "description": "path relative to the assessed folder"},
        "line": {"type": "integer", "description": "1-based line (in the cell, for a notebook)"},
        "cell": {"type": ["integer", "null"], "description": "1-based notebook cell, or null"},
        "detail": {"type": "string", "description": "what was found, e.g. `call mlflow.log_params(...)`"},
    },
}
_PRACTICE = {
    "type": "object",
    "required": ["id", "level", "name", "found", "evidence"],
    "properties": {
        "id": {"type": "string"},
        "level": {"type": "integer", "minimum": 1, "maximum": 5},
        "name": {"type": "string"},
        "found": {"type": "boolean"},
        "evidence": {"type": "array", "items": _EVIDENCE, "description": "at most 20 per practice"},
    },
}
_STEP = {
    "type": "object",
    "required": ["id", "name", "level", "advice", "cost", "read"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "level": {"type": "integer"},
        "advice": {"type": "string"},
        "cost": {"type": "string"},
        "read": {"type": "array", "items": {"type": "string"}, "description": "template files, under templates/"},
    },
}
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": f"mlops-ladder assess result, schema version {SCHEMA_VERSION}",
    "type": "object",
    "required": [
        "schema_version",
        "path",
        "level",
        "level_title",
        "code_level",
        "organisation_level",
        "recorded_level",
        "practices",
        "next_steps",
        "questionnaire",
        "scan",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "path": {"type": "string"},
        "level": {"type": "integer", "minimum": 0, "maximum": 5, "description": "overall: code, held back by answers"},
        "level_title": {"type": "string"},
        "code_level": {"type": "integer", "minimum": 0, "maximum": 5},
        "organisation_level": {"type": ["integer", "null"], "description": "null without --questionnaire"},
        "recorded_level": {"type": ["integer", "null"], "description": "level mlops-ladder recorded, if it made it"},
        "practices": {"type": "array", "items": _PRACTICE},
        "next_steps": {
            "type": ["object", "null"],
            "description": "null at level 5",
            "required": ["level", "missing", "upgrade_command", "upgrade_unavailable_because"],
            "properties": {
                "level": {"type": "integer"},
                "missing": {"type": "array", "items": _STEP},
                "upgrade_command": {"type": ["string", "null"]},
                "upgrade_unavailable_because": {"type": ["string", "null"]},
            },
        },
        "questionnaire": {
            "type": ["object", "null"],
            "required": ["level", "answers", "aspects"],
            "properties": {
                "level": {"type": "integer"},
                "answers": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "aspects": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["name", "yes", "asked"],
                        "properties": {
                            "name": {"type": "string"},
                            "yes": {"type": "integer"},
                            "asked": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "scan": {
            "type": "object",
            "required": ["files", "truncated", "skipped"],
            "properties": {
                "files": {"type": "integer", "description": "files seen by the walk"},
                "truncated": {"type": "boolean", "description": "the walk stopped at its bound"},
                "skipped": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["file", "reason"],
                        "properties": {"file": {"type": "string"}, "reason": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def assessment_json(result: Assessment, questionnaire: QuestionnaireResult | None = None) -> dict[str, object]:
    level = overall_level(result, questionnaire)
    return {
        "schema_version": SCHEMA_VERSION,
        "path": str(result.root),
        "level": level,
        "level_title": level_title(level),
        "code_level": result.level,
        "organisation_level": questionnaire.level if questionnaire else None,
        "recorded_level": result.ladder_level,
        "practices": [
            {
                "id": item.practice.id,
                "level": item.practice.level,
                "name": item.practice.name,
                "found": item.found,
                "evidence": [
                    {"file": found.file, "line": found.line, "cell": found.cell, "detail": found.detail}
                    for found in item.evidence
                ],
            }
            for item in result.practices
        ],
        "next_steps": _next_steps(result),
        "questionnaire": _questionnaire(questionnaire),
        "scan": {
            "files": result.scanned,
            "truncated": result.truncated,
            "skipped": [{"file": file, "reason": reason} for file, reason in result.skipped],
        },
    }


def _next_steps(result: Assessment) -> dict[str, object] | None:
    steps = result.next_steps()
    if steps is None:
        return None
    return {
        "level": steps.level,
        "missing": [
            {
                "id": practice.id,
                "name": practice.name,
                "level": practice.level,
                "advice": practice.next_step,
                "cost": practice.cost,
                "read": list(practice.read),
            }
            for practice in steps.missing
        ],
        "upgrade_command": steps.upgrade_command,
        "upgrade_unavailable_because": steps.why_not_upgrade,
    }


def _questionnaire(questionnaire: QuestionnaireResult | None) -> dict[str, object] | None:
    if questionnaire is None:
        return None
    aspects = questionnaire.catalogue.aspects
    return {
        "level": questionnaire.level,
        "answers": dict(questionnaire.answers),
        "aspects": {
            aspect: {"name": aspects[aspect], "yes": yes, "asked": asked}
            for aspect, (yes, asked) in questionnaire.aspects().items()
        },
    }
