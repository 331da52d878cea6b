"""Shared pytest options."""


def pytest_addoption(parser):
    parser.addoption("--update-fixtures", action="store_true", help="write missing fixtures/rules/*.expected.py files")
