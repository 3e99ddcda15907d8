"""Registry loader: valid files become the shared dataclasses; every mistake is `FILE:LINE: reason`."""
import hashlib
import os
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from cluewatch import registry as registry_module
from cluewatch.model import GeographicalIndication, Mark, ReferencePrice
from cluewatch.registry import RegistryError, check_registry, load_registry

DATA = Path(__file__).resolve().parents[1] / "data" / "registry"
SPRITE_PNG = DATA / "logos" / "sprite.png"


def write(tmp_path, text, name="registry.yaml", encoding="utf-8"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = textwrap.dedent(text).lstrip("\n")
    path.write_bytes(body.encode(encoding) if isinstance(body, str) else body)
    return path


def found(problems):
    """(line, reason) pairs, for compact assertions."""
    return [(p.line, p.reason) for p in problems]


def only_problem(path):
    problems = check_registry(path)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- valid files ---------------------------------------------------------------------------------

def test_valid_fixture_loads_into_model_types():
    reg = load_registry(DATA / "valid.yaml")

    assert [m.id for m in reg.marks] == ["sprite", "cola-7", "logo-only"]
    sprite = reg.mark("sprite")
    assert sprite == Mark(
        id="sprite",
        names=("Sprite", "雪碧"),
        reg_no="123456",
        owner="The Coca-Cola Company",
        nice_classes=(32,),
        logos=(str(SPRITE_PNG),),
        authorized_sellers=("可口可乐官方旗舰店",),
        reference_prices=(ReferencePrice("Sprite 330ml x24", "CNY", Decimal("48.0")),),
    )
    cola = reg.mark("cola-7")
    assert cola.reg_no == "765432"  # written unquoted, still a string
    assert [p.price for p in cola.reference_prices] == [Decimal("2.99"), Decimal("5")]
    assert all(isinstance(p.price, Decimal) for p in cola.reference_prices)
    assert reg.mark("logo-only").names == ()
    assert reg.geographical_indications == (
        GeographicalIndication("yantai-apple", "烟台苹果", "山东省烟台市", ("苹果",), ()),
        GeographicalIndication("champagne", "Champagne"),
    )


def test_identity_is_the_file_bytes_and_absolute_path():
    path = DATA / "valid.yaml"
    reg = load_registry(path)
    assert reg.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reg.source_file == str(path) and os.path.isabs(reg.source_file)
    assert check_registry(path) == []


def test_logo_paths_are_resolved_against_the_yaml_file_not_the_cwd(tmp_path, monkeypatch):
    shutil.copy(SPRITE_PNG, tmp_path / "elsewhere.png")
    path = write(tmp_path, f"""
        marks:
          - id: a
            logos: ["../img/a.png", "{tmp_path / 'elsewhere.png'}"]
        """, name="conf/registry.yaml")
    (tmp_path / "img").mkdir()
    shutil.copy(SPRITE_PNG, tmp_path / "img" / "a.png")
    monkeypatch.chdir(DATA)  # a relative path must not be read against the working directory

    reg = load_registry(os.path.relpath(path))
    assert reg.mark("a").logos == (str(tmp_path / "img" / "a.png"), str(tmp_path / "elsewhere.png"))
    assert reg.source_file == str(path)


def test_reg_no_written_as_int_keeps_its_digits(tmp_path):
    path = write(tmp_path, """
        marks:
          - {id: a, names: [A], reg_no: 123456}
          - {id: b, names: [B], reg_no: 0012345}
        """)
    reg = load_registry(path)
    assert [m.reg_no for m in reg.marks] == ["123456", "0012345"]  # not octal, not 12345


def test_null_optional_fields_count_as_absent(tmp_path):
    path = write(tmp_path, """
        marks:
          - id: a
            names: [A]
            owner:
            reg_no: ~
            nice_classes:
        geographical_indications:
        """)
    mark = load_registry(path).mark("a")
    assert (mark.owner, mark.reg_no, mark.nice_classes) == (None, None, ())


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfmarks:\n  - {id: a, names: [A]}\n")
    assert load_registry(path).mark("a").names == ("A",)


def test_star_in_text_takes_the_careful_path_and_still_loads(tmp_path):
    # A `*` after a blank could start an alias, so this file is composed by the pure-Python loader.
    path = write(tmp_path, """
        marks:
          - {id: a, names: ["Star *Brand", "A"]}
        """)
    assert load_registry(path).mark("a").names == ("Star *Brand", "A")


# --- one problem each, with its line -------------------------------------------------------------

CASES = {
    "unknown key": ("""
        marks:
          - id: a
            names: [A]
            nmaes: [B]
        """, 4, "unknown key 'nmaes' in marks[0]"),
    "names not a list": ("""
        marks:
          - id: a
            names: Sprite
        """, 3, "marks[0].names must be a list (got string 'Sprite')"),
    "numeric name unquoted": ("""
        marks:
          - id: a
            names:
              - Kronenbourg
              - 1664
        """, 5, "marks[0].names[1] must be a string (got integer 1664; quote it"),
    "yes/no turns boolean": ("""
        marks:
          - id: a
            names: [NO]
        """, 3, "marks[0].names[0] must be a string (got boolean NO"),
    "blank name": ("""
        marks:
          - id: a
            names: ["  "]
        """, 3, "marks[0].names[0] must not be empty"),
    "bad id": ("""
        marks:
          - id: Sprite_1
            names: [A]
        """, 2, "marks[0].id 'Sprite_1' does not match [a-z0-9-]+"),
    "id not a string": ("""
        marks:
          - id: [a]
            names: [A]
        """, 2, "marks[0].id must be a string (got a list)"),
    "missing id": ("""
        marks:
          - names: [A]
            owner: X
        """, 2, "marks[0] is missing required key 'id'"),
    "neither names nor logos": ("""
        marks:
          - id: a
            owner: X
        """, 2, "marks[0] needs at least one of names, logos"),
    "empty names and no logos": ("""
        marks:
          - id: a
            names: []
        """, 2, "marks[0] needs at least one of names, logos"),
    "duplicate name, case-insensitive": ("""
        marks:
          - id: a
            names: [Sprite, 雪碧,
                    SPRITE]
        """, 4, "marks[0].names[2] 'SPRITE' repeats marks[0].names[0]"),
    "duplicate id across marks and GIs": ("""
        marks:
          - {id: champagne, names: [Champagne]}
        geographical_indications:
          - {id: champagne, name: Champagne}
        """, 4, "duplicate id 'champagne' (already used at line 2)"),
    "nice class out of range": ("""
        marks:
          - id: a
            names: [A]
            nice_classes: [32, 46]
        """, 4, "marks[0].nice_classes[1] must be between 1 and 45 (got 46)"),
    "nice class not an int": ("""
        marks:
          - id: a
            names: [A]
            nice_classes: ["32"]
        """, 4, "marks[0].nice_classes[0] must be an integer (got string '32')"),
    "nice class repeated": ("""
        marks:
          - id: a
            names: [A]
            nice_classes: [32, 32]
        """, 4, "marks[0].nice_classes[1] repeats class 32"),
    "reg_no a list": ("""
        marks:
          - id: a
            names: [A]
            reg_no: [1]
        """, 4, "marks[0].reg_no must be a string (got a list)"),
    "owner a number": ("""
        marks:
          - id: a
            names: [A]
            owner: 3.5
        """, 4, "marks[0].owner must be a string (got number 3.5"),
    "currency lower case": ("""
        marks:
          - id: a
            names: [A]
            reference_prices:
              - {product: P, currency: cny, price: 1}
        """, 5, "marks[0].reference_prices[0].currency 'cny' does not match [A-Z]{3}"),
    "price zero": ("""
        marks:
          - id: a
            names: [A]
            reference_prices:
              - product: P
                currency: CNY
                price: 0
        """, 7, "marks[0].reference_prices[0].price must be greater than 0 (got 0)"),
    "price as text": ("""
        marks:
          - id: a
            names: [A]
            reference_prices: [{product: P, currency: CNY, price: "12"}]
        """, 4, "marks[0].reference_prices[0].price must be a finite number (got string '12')"),
    "price infinite": ("""
        marks:
          - id: a
            names: [A]
            reference_prices: [{product: P, currency: CNY, price: .inf}]
        """, 4, "price must be a finite number"),
    "price missing": ("""
        marks:
          - id: a
            names: [A]
            reference_prices:
              - {product: P, currency: CNY}
        """, 5, "marks[0].reference_prices[0] is missing required key 'price'"),
    "reference price unknown key": ("""
        marks:
          - id: a
            names: [A]
            reference_prices:
              - product: P
                currency: CNY
                price: 1
                unit: box
        """, 8, "unknown key 'unit' in marks[0].reference_prices[0]"),
    "GI missing name": ("""
        geographical_indications:
          - id: yantai-apple
            region: 山东
        """, 2, "geographical_indications[0] is missing required key 'name'"),
    "GI products not strings": ("""
        geographical_indications:
          - id: x
            name: X
            products: [{a: 1}]
        """, 4, "geographical_indications[0].products[0] must be a string (got a mapping)"),
    "GI unknown key": ("""
        geographical_indications:
          - id: x
            name: X
            producers: []
        """, 4, "unknown key 'producers' in geographical_indications[0]"),
    "duplicate key in a mapping": ("""
        marks:
          - id: a
            names: [A]
            id: b
        """, 4, "duplicate key 'id' in marks[0] (first at line 2)"),
    "unknown top-level key": ("""
        marks: []
        sources: []
        """, 2, "unknown key 'sources' in the registry"),
    "top level a list": ("""
        - id: a
        """, 1, "the registry must be a mapping (got a list)"),
    "nothing declared": ("""
        {}
        """, 1, "the registry declares neither marks nor geographical_indications"),
    "marks a mapping": ("""
        marks:
          sprite: {names: [A]}
        """, 2, "marks must be a list (got a mapping)"),
    "mark entry a string": ("""
        marks:
          - sprite
        """, 2, "marks[0] must be a mapping (got string 'sprite')"),
    "python tag refused": ("""
        marks:
          - id: a
            names: [!!python/object/apply:os.system ["true"]]
        """, 3, "YAML tag"),
    "custom tag refused": ("""
        marks:
          - id: a
            names: [!brand Sprite]
        """, 3, "marks[0].names[0]: YAML tag !brand is not supported"),
}


@pytest.mark.parametrize("text, line, reason", CASES.values(), ids=CASES.keys())
def test_each_problem_is_reported_with_its_line(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.line, problem.file) == (line, str(path)), str(problem)
    assert reason in problem.reason
    assert str(problem) == f"{path}:{line}: {problem.reason}"


# --- logos ---------------------------------------------------------------------------------------

def test_logo_problems_name_the_entry_and_line(tmp_path):
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "notes.txt").write_text("not an image")
    (tmp_path / "logos" / "empty.png").write_bytes(b"")
    (tmp_path / "logos" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    shutil.copy(SPRITE_PNG, tmp_path / "logos" / "ok.png")
    path = write(tmp_path, """
        marks:
          - id: a
            logos:
              - logos/missing.png
              - logos
              - logos/notes.txt
              - logos/empty.png
              - logos/logo.svg
              - logos/ok.png
              - ./logos/ok.png
        """)
    got = found(check_registry(path))
    assert [line for line, _ in got] == [4, 5, 6, 7, 8, 10]
    assert got[0][1].startswith("marks[0].logos[0] 'logos/missing.png': file not found")
    assert str(tmp_path / "logos" / "missing.png") in got[0][1]
    assert "is not a regular file" in got[1][1]
    assert "is not a PNG, JPEG, GIF, BMP, TIFF or WebP image" in got[2][1]
    assert "is not a PNG" in got[3][1]
    assert "is not a PNG" in got[4][1]  # SVG: OpenCV cannot read it, so refuse it up front
    assert got[5][1] == "marks[0].logos[6] './logos/ok.png' repeats marks[0].logos[5]"


def test_missing_logo_alone_still_counts_as_having_logos(tmp_path):
    # The mark has a logos entry (a broken one): report the file, not "needs names or logos" too.
    path = write(tmp_path, """
        marks:
          - id: a
            logos: [nope.png]
        """)
    assert [line for line, _ in found(check_registry(path))] == [3]


# --- the file as a whole -------------------------------------------------------------------------

def test_all_problems_reported_at_once_in_line_order(tmp_path):
    path = write(tmp_path, """
        marks:
          - id: a
            names: [A, a]
            nice_classes: [0]
          - id: a
            names: [B]
            colour: red
        geographical_indications:
          - id: g
        extra: 1
        """)
    got = found(check_registry(path))
    assert [line for line, _ in got] == [3, 4, 5, 7, 9, 10]
    assert [reason.split(" ")[0] for _, reason in got] == [
        "marks[0].names[1]", "marks[0].nice_classes[0]", "duplicate", "unknown",
        "geographical_indications[0]", "unknown"]


def test_load_raises_with_every_problem_and_nothing_loaded(tmp_path):
    path = write(tmp_path, """
        marks:
          - {id: ok, names: [Fine]}
          - {id: BAD, names: [X]}
          - {id: also-bad}
        """)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert [p.line for p in err.value.problems] == [3, 4]
    assert str(err.value).splitlines() == [str(p) for p in err.value.problems]
    assert str(err.value).startswith(f"{path}:3: ")


def test_empty_file_and_comment_only_file(tmp_path):
    for text in ("", "# nothing here yet\n"):
        path = write(tmp_path, text)
        problem = only_problem(path)
        assert (problem.line, problem.reason) == (1, "file is empty; expected marks and/or geographical_indications")


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    problem = only_problem(tmp_path / "nope.yaml")
    assert problem.line == 1 and problem.reason.startswith("cannot read file")
    assert only_problem(tmp_path).reason.startswith("cannot read file")  # a directory


def test_non_utf8_bytes_report_their_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("marks:\n  - id: cafe\n    names: [\"Café\"]\n".encode("latin-1"))
    problem = only_problem(path)
    assert problem.line == 3
    assert problem.reason == "file is not valid UTF-8 (byte 0xe9); save it as UTF-8"


def test_utf16_file_is_refused_as_not_utf8(tmp_path):
    path = write(tmp_path, "marks: []\n", encoding="utf-16")
    assert "not valid UTF-8" in only_problem(path).reason


def test_yaml_syntax_error_reports_the_line_where_it_breaks(tmp_path):
    path = write(tmp_path, """
        marks:
          - id: a
            names: [A, B
          - id: b
            names: [C]
        """)
    problem = only_problem(path)
    assert problem.line == 4
    assert problem.reason.startswith("YAML syntax error: while parsing a flow sequence (line 3)")


def test_tab_indentation_is_a_syntax_error_on_its_line(tmp_path):
    path = write(tmp_path, "marks:\n  - id: a\n    names: [A]\n\towner: X\n")
    problem = only_problem(path)
    assert problem.line == 4 and "'\\t'" in problem.reason


def test_control_character_reports_its_line(tmp_path):
    path = write(tmp_path, "marks:\n  - id: a\n    names: [\"A\x07\"]\n")
    problem = only_problem(path)
    assert (problem.line, problem.reason) == (3, "character U+0007 is not allowed in YAML")


def test_second_document_is_refused(tmp_path):
    path = write(tmp_path, "marks: []\n---\nmarks: []\n")
    problem = only_problem(path)
    assert problem.line == 2 and "a config file holds one" in problem.reason


def test_aliases_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, """
        marks:
          - id: a
            names: &names [A, B]
          - id: b
            names: *names
          - <<: *names
            id: c
        """)
    got = found(check_registry(path))
    assert (5, "YAML aliases (*names) are not supported; write the value out in full") in got
    assert 6 in [line for line, _ in got]
    # A refused alias is reported once, not again as "names must be a list" on the same line.
    assert not any("must be a list" in reason for _, reason in got)


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += ["marks: *a9"]
    path = write(tmp_path, "\n".join(lines) + "\n")
    problems = check_registry(path)
    assert any("aliases" in p.reason for p in problems)
    assert len(problems) < 200  # one per alias written, never one per expansion


def test_deep_nesting_is_refused_not_a_crash(tmp_path):
    path = write(tmp_path, "marks: " + "[" * 5000 + "]" * 5000 + "\n")
    problems = check_registry(path)
    assert problems and problems[0].line == 1


def test_oversized_file_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(registry_module, "MAX_BYTES", 2 * 1024 * 1024)
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"marks:\n" + b"  - {id: a, names: [A]}\n" * 100_000)  # ~2.4 MB
    problem = only_problem(path)
    assert (problem.line, problem.reason) == (1, "file is larger than 2 MB; refusing to parse it")


def test_default_size_cap_is_20_mb():
    assert registry_module.MAX_BYTES == 20 * 1024 * 1024


def test_pure_python_and_libyaml_paths_agree(tmp_path, monkeypatch):
    """The fast path (libyaml) must load and report exactly what the careful path does."""
    valid = DATA / "valid.yaml"
    broken = write(tmp_path, """
        marks:
          - id: a
            names: [A, a, 1664]
            nice_classes: [99]
            logos: [nope.png]
        geographical_indications:
          - {id: g}
        """)
    fast = (load_registry(valid), found(check_registry(broken)))
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    slow = (load_registry(valid), found(check_registry(broken)))
    assert fast == slow
    assert len(fast[1]) == 5


def test_yaml_module_constructs_no_python_objects(tmp_path):
    # Even in a key position, a python/* tag must not run anything.
    marker = tmp_path / "ran"
    path = write(tmp_path, f"""
        ? !!python/object/apply:os.system ["touch {marker}"]
        : 1
        marks: []
        """)
    assert check_registry(path)
    assert not marker.exists()


def test_reference_photos_resolved_next_to_the_file_and_checked_like_logos(tmp_path):
    (tmp_path / "photos").mkdir()
    shutil.copy(SPRITE_PNG, tmp_path / "photos" / "can.png")
    path = write(tmp_path, """
        marks:
          - id: a
            names: [A]
            reference_photos: [photos/can.png]
          - id: b
            names: [B]
            reference_photos:
              - photos/gone.jpg
        """)
    got = found(check_registry(path))
    assert [line for line, _ in got] == [8]
    assert got[0][1].startswith("marks[1].reference_photos[0] 'photos/gone.jpg': file not found")
    path.write_text(path.read_text().replace("photos/gone.jpg", "photos/can.png"))
    assert load_registry(path).mark("a").reference_photos == (str(tmp_path / "photos" / "can.png"),)
