"""Settings resolve in one place: marker > command line > ini > default."""
import pytest

PROBE = """
import pytest
from hst_align_qa.fixtures.config.settings import resolve

def test_default(request):
    s = resolve(request.config)
    print("STRICT", s.strict, "TIMEOUT", s.timeout, "JSON", s.qa_json)

@pytest.mark.qa_settings(strict=False, timeout=5)
def test_marker(request):
    s = resolve(request.config, request.node.get_closest_marker("qa_settings"))
    print("MSTRICT", s.strict, "MTIMEOUT", s.timeout)
"""


@pytest.fixture
def probe(pytester):
    pytester.makepyfile(test_probe=PROBE)
    return pytester


def test_defaults(probe):
    out = probe.runpytest("-s", "-p", "no:cacheprovider").stdout.str()
    assert "STRICT False TIMEOUT 3600.0 JSON None" in out


def test_ini_then_cli_then_marker(probe):
    probe.makeini("[pytest]\nqa_strict = true\nqa_timeout = 10\nqa_json = out/qa.json\n")
    out = probe.runpytest("-s", "-p", "no:cacheprovider").stdout.str()
    assert f"STRICT True TIMEOUT 10.0 JSON {probe.path / 'out' / 'qa.json'}" in out
    out = probe.runpytest("-s", "-p", "no:cacheprovider", "--qa-timeout", "20").stdout.str()
    assert "TIMEOUT 20.0" in out
    assert "MSTRICT False MTIMEOUT 5.0" in out


def test_bad_boolean_is_a_usage_error(probe):
    probe.makeini("[pytest]\nqa_strict = maybe\n")
    result = probe.runpytest("-p", "no:cacheprovider")
    assert "expected a boolean, got 'maybe'" in result.stdout.str() + result.stderr.str()
