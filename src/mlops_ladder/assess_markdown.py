"""The assessment as Markdown (`assess --format markdown`), to paste into a review or an issue."""

from __future__ import annotations

from mlops_ladder.assess import level_title, overall_level
from mlops_ladder.assess_questionnaire import QuestionnaireResult
from mlops_ladder.assess_result import Assessment

SHOWN_EVIDENCE = 3


def assessment_markdown(result: Assessment, questionnaire: QuestionnaireResult | None = None) -> str:
    level = overall_level(result, questionnaire)
    lines = [
        f"# MLOps assessment: {_cell(str(result.root))}",
        "",
        f"**Level reached: {level_title(level)}.**"
        + (
            f" Code: {level_title(result.level)}; organisation: {level_title(questionnaire.level)}."
            if questionnaire
            else ""
        ),
        "",
        "| level | practice | found | evidence |",
        "|---|---|---|---|",
    ]
    for item in result.practices:
        evidence = "<br>".join(f"`{found.where}` {found.detail}" for found in item.evidence[:SHOWN_EVIDENCE])
        status = "yes" if item.found else "**missing**"
        lines.append(f"| {item.practice.level} | {item.practice.name} | {status} | {_cell(evidence)} |")
    if questionnaire:
        lines += ["", "## Organisation and process", "", "| aspect | answered yes |", "|---|---|"]
        for aspect, (yes, asked) in questionnaire.aspects().items():
            lines.append(f"| {questionnaire.catalogue.aspects[aspect]} | {yes} of {asked} |")
        for question in questionnaire.missing(level + 1):
            lines.append(f"\n- Not yet (level {question.level}): {question.question}")
    lines += _next_steps(result)
    lines += ["", f"_{result.scanned} files read by `mlops-ladder assess`; {len(result.skipped)} skipped._", ""]
    return "\n".join(lines)


def _next_steps(result: Assessment) -> list[str]:
    steps = result.next_steps()
    if steps is None:
        return ["", "Every practice of every level was found."]
    lines = ["", f"## Next: {level_title(steps.level)}", ""]
    lines += [f"- **{p.name}** (level {p.level}): {p.next_step} _Costs: {p.cost}._" for p in steps.missing]
    if steps.upgrade_command:
        lines += ["", f"`mlops-ladder upgrade` does this: `{steps.upgrade_command}`"]
    else:
        lines += ["", f"`mlops-ladder upgrade` cannot do it: {steps.why_not_upgrade}."]
        if steps.read:
            lines += ["Read how the ladder does it: " + ", ".join(f"`templates/{path}`" for path in steps.read)]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
