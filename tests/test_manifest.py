"""The dataset manifest: inheritance, validation, safe names."""
import pytest

from hst_align_qa.fixtures.config.datasets import ManifestError, load_manifest, validate_name

GOOD = """
default = ["base"]
[datasets.base]
source = "synthetic"
synthetic = { seed = 1, size = "small" }
tweakreg = { searchrad = 5, fitgeometry = "rscale" }
[datasets.child]
extends = "base"
synthetic = { fault = "shift1" }
tweakreg = { fitgeometry = "general" }
thresholds = { fit_rms = { fail = 0.2 } }
"""


def write(tmp_path, text):
    path = tmp_path / "datasets.toml"
    path.write_text(text)
    return path


def test_extends_merges_tables_key_by_key(tmp_path):
    m = load_manifest(write(tmp_path, GOOD))
    child = m.get("child")
    assert dict(child.synthetic) == {"seed": 1, "size": "small", "fault": "shift1"}
    assert dict(child.tweakreg) == {"searchrad": 5, "fitgeometry": "general"}
    assert child.thresholds["fit_rms"]["fail"] == 0.2
    assert m.default == ("base",)
    assert dict(m.get("base").synthetic) == {"seed": 1, "size": "small"}


def test_repository_manifest_is_valid(pytestconfig):
    m = load_manifest(pytestconfig.rootpath / "qa" / "datasets.toml")
    assert m.default == ("synthetic-small",)
    assert m.get("synthetic-shift1").synthetic["fault"] == "shift1"


@pytest.mark.parametrize("text, message", [
    ('[datasets.a]\nsource = "synthetic"\ntweakreg = { serchrad = 5 }\n',
     "unknown tweakreg key(s) ['serchrad']"),
    ('[datasets.a]\nsource = "synthetic"\ncolour = "red"\n', "unknown key(s) ['colour']"),
    ('[datasets.a]\nsource = "ftp"\n', "source must be one of"),
    ('[datasets.a]\nsource = "synthetic"\ntweakreg = 5\n', "tweakreg must be a table"),
    ('[datasets.a]\nsource = "synthetic"\ntweakreg = { searchrad = { x = 1 } }\n',
     "tweakreg.searchrad must be"),
    ('[datasets.a]\nextends = "b"\n[datasets.b]\nextends = "a"\n', "'extends' cycle"),
    ('[datasets.a]\nextends = "zz"\n', "extends unknown dataset 'zz'"),
    ('[datasets."../evil"]\nsource = "synthetic"\n', "invalid dataset name"),
    ('[datasets."a;rm -rf"]\nsource = "synthetic"\n', "invalid dataset name"),
    ('default = ["nope"]\n[datasets.a]\nsource = "synthetic"\n', "unknown dataset 'nope'"),
    ('[datasets\n', "not valid TOML"),
])
def test_manifest_errors_name_file_dataset_and_key(tmp_path, text, message):
    with pytest.raises(ManifestError, match="datasets.toml") as info:
        load_manifest(write(tmp_path, text))
    assert message in str(info.value)


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "", "-x", "x" * 65, "a b", "$(id)"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(ManifestError):
        validate_name(name)
