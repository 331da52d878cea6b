"""docs/rules.md is generated from the rules and their fixtures and must be up to date."""

from migrator.rules_doc import PAGE, render


def test_rules_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "run: python -m migrator.rules_doc"


def test_every_rule_has_a_section_and_examples() -> None:
    from codemods import RULES

    page = render()
    for rule in RULES:
        assert f"## {rule.code} {rule.name}" in page
    assert page.count("```python") >= 2 * len(RULES)
