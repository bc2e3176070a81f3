# The QA plugin (options, fixtures, report hooks) lives in fixtures/plugin.py.
pytest_plugins = ["fixtures.plugin"]
