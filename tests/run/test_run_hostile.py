"""Issue 13, hostile inputs and configuration: one bad input never stops the others (item 6), other
submitters (9), permissions and links (10), configuration refused at the start (13, 14), inbox entries
that are not files (15). Each test was written against the code before the fix and failed there.

Expected numbers are the committed sample's (cob/fixtures/sample): all of it bills 21 claims of 24 into 7
files; claims-0001.837 holds PCN00100000000..05, written with "*" and ":" (claims-0002.837 uses "|").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cob.run.config import ConfigError, init_folder, load_config

from .conftest import NOW, Site

SAMPLE = Path(__file__).resolve().parents[2] / "cob" / "fixtures" / "sample"
CLAIMS_0001 = [f"PCN0010000000{i}" for i in range(6)]


def _site(tmp_path: Path, name: str = "site", extra: str = "") -> Site:
    config = init_folder(tmp_path / name)
    # the sample is copied in and run at once: no settle time, whatever the template's default
    text = re.sub(r"(?m)^settle_seconds = .*$", "settle_seconds = 0", config.read_text())
    config.write_text(text + ("\n" + extra if extra else ""))
    site = Site(tmp_path / name, config)
    site.drop(SAMPLE)
    return site


def _both(make_site) -> Site:
    """A site on the test's backend (SQLite and PostgreSQL) with the sample dropped."""
    site = make_site()
    site.drop(SAMPLE)
    return site


def _outcomes(result) -> dict[str, tuple[str, str]]:
    return {c.claim_id: (c.status, c.reason) for c in result.report.claims}


def _billed(result) -> set[str]:
    return {c.claim_id for c in result.report.claims if c.status == "billed"}


def _isa(path: Path) -> list[str]:
    data = path.read_text()
    return data[:106].split(data[3])


def _set_isa_parties(path: Path, sender: str, receiver: str) -> None:
    """Replace ISA06 and ISA08 (fixed width) and GS02/GS03 of every interchange of a file."""
    data = path.read_text()
    sep, term = data[3], data[105]
    segments = data.split(term)
    for n, seg in enumerate(segments):
        parts = seg.split(sep)
        head = parts[0].strip()
        if head == "ISA":
            parts[6], parts[8] = sender.ljust(15), receiver.ljust(15)
        elif head == "GS":
            parts[2], parts[3] = sender, receiver
        segments[n] = sep.join(parts)
    path.write_text(term.join(segments))


def _everything_written(site: Site) -> str:
    """Reports, logs and reasons of a site as one text (what an operator reads)."""
    out = []
    for folder in ("reports", "rejected"):
        for f in sorted((site.root / folder).rglob("*")):
            if f.is_file() and (folder == "reports" or f.name.endswith(".reason.txt")):
                out.append(f.read_text())
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------ item 6


def test_a_component_separator_inside_an_element_rejects_that_claim_only(tmp_path, make_site):
    """N3 of PCN00100000000's subscriber holds ":" (the file's component separator): the writer cannot
    write it; that claim is rejected (write_failed), the other 20 are billed, the run goes on (exit 1)."""
    site = _both(make_site)
    f = site.inbox / "claims-0001.837"
    f.write_text(f.read_text().replace("N3*5246 HIGHLAND", "N3*5246 HIGH:LAND", 1))
    result = site.run()
    assert result.exit_code == 1
    assert _outcomes(result)["PCN00100000000"] == ("rejected", "write_failed")
    assert result.report.summary.billed == 20 and result.report.summary.rejected == 1
    assert "HIGH:LAND" not in _everything_written(site)
    assert not any(b"HIGH:LAND" in data for data in site.outbox_files().values())


def test_a_component_separator_inside_an_element_in_cob_secondary(tmp_path):
    claims = tmp_path / "claims"
    shutil.copytree(SAMPLE, claims)
    f = claims / "claims-0001.837"
    f.write_text(f.read_text().replace("N3*5246 HIGHLAND", "N3*5246 HIGH:LAND", 1))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "cob", "secondary", "--claims", str(claims), "--remit",
                           str(SAMPLE), "--out", str(out), "--report", "-"], capture_output=True, text=True,
                          env={**os.environ, "COB_NOW": NOW.isoformat()})
    assert "internal error" not in proc.stderr
    report = json.loads(proc.stdout)
    by_id = {c["claim_id"]: c for c in report["claims"]}
    assert (by_id["PCN00100000000"]["status"], by_id["PCN00100000000"]["reason"]) == ("rejected", "write_failed")
    assert report["summary"]["billed"] == 20


@pytest.mark.parametrize("bad", ["BHX*0019*00*", "bht*0019*00*", "BHT0019*00*", "BH*0019*00*", ""])
def test_a_misspelled_bht_quarantines_its_file_and_the_rest_is_billed(tmp_path, bad):
    site = _site(tmp_path)
    f = site.inbox / "claims-0001.837"
    text = f.read_text()
    if bad:
        text = text.replace("BHT*0019*00*", bad, 1)
    else:  # no BHT at all
        start = text.index("BHT*")
        text = text[:start] + text[text.index("~", start) + 1:]
    f.write_text(text)
    result = site.run()
    assert result.exit_code == 1
    assert site.listing("rejected") == ["claims-0001.837", "claims-0001.837.reason.txt"]
    reason = (site.root / "rejected" / "claims-0001.837.reason.txt").read_text()
    assert "segment 4" in reason
    billed = _billed(result)
    assert billed and not billed & set(CLAIMS_0001)
    # the claims of the other files are billed as without claims-0001.837
    other = _site(tmp_path, "without")
    (other.inbox / "claims-0001.837").unlink()
    assert billed == _billed(other.run())


def test_a_file_name_that_is_not_utf8_is_quarantined_and_the_rest_billed(tmp_path, make_site):
    site = _both(make_site)
    raw = os.fsencode(site.inbox) + b"/claims-\xff\x1b[2J.837"
    shutil.copy(SAMPLE / "claims-0001.837", raw)
    result = site.run()
    assert result.exit_code == 1 and result.report.summary.billed == 21
    assert sorted(os.listdir(site.root / "rejected")) == ["claims-\\xff\\x1b[2J.837",
                                                           "claims-\\xff\\x1b[2J.837.reason.txt"]
    assert (site.root / "rejected" / "claims-\\xff\\x1b[2J.837").read_bytes() == \
        (SAMPLE / "claims-0001.837").read_bytes()
    assert os.listdir(site.inbox) == []
    line = [e for e in result.errors if "quarantined" in e]
    assert line == ["cob run: quarantined claims-\\xff\\x1b[2J.837: claims-\\xff\\x1b[2J.837: the file name is "
                    "not UTF-8 (shown with \\x escapes); rename it and drop it again"]
    report = json.loads(result.report_path.read_text())
    assert [i["file"] for i in report["run"]["inputs"] if i["disposition"] == "rejected"] == \
        ["claims-\\xff\\x1b[2J.837"]


def test_long_file_names_are_read_and_kept_under_shortened_names(tmp_path):
    """An X12 name of 240 characters and a non-X12 name of 235 stopped every run ("File name too long" for
    the names derived from them: the worker's spool, `<name>.reason.txt` and its temp file). Now the X12
    file is billed and archived, the other quarantined, each under a shortened name (head + hash)."""
    site = _site(tmp_path)
    long_x12, long_other = "c" * 236 + ".837", "n" * 231 + ".txt"
    (site.inbox / "claims-0001.837").rename(site.inbox / long_x12)
    (site.inbox / long_other).write_text("not X12\n")
    result = site.run()
    assert result.exit_code == 1 and result.report.summary.billed == 21
    archived = [k for k in os.listdir(site.root / "archive") if k.startswith("ccc")]
    assert len(archived) == 1 and archived[0].startswith("c" * 100) and len(archived[0].encode()) == 197
    assert (site.root / "archive" / archived[0]).read_bytes() == (SAMPLE / "claims-0001.837").read_bytes()
    kept = sorted(os.listdir(site.root / "rejected"))
    assert len(kept) == 2 and all(k.startswith("n" * 100) and len(k.encode()) <= 255 for k in kept)
    assert "not an X12 file" in (site.root / "rejected" / kept[1]).read_text()
    assert os.listdir(site.inbox) == []
    assert site.run().exit_code == 0  # the next run is clean


def test_a_sender_id_with_a_slash_gets_a_safe_output_name(tmp_path):
    """ISA06 "RBS/001" on claims-0002.837 beside RBS001 on the others (allowed: other_submitters =
    "separate"): both senders' first interchange to a payer is ISA13 1, so a name clashes; the second
    gets the sender id, made safe, instead of "Invalid name" stopping the run."""
    site = _site(tmp_path)
    site.config_path.write_text(site.config_path.read_text().replace('other_submitters = "quarantine"',
                                                                     'other_submitters = "separate"'))
    _set_isa_parties(site.inbox / "claims-0002.837", "RBS/001", "ACMECLEAR01")
    result = site.run()
    assert result.exit_code == 0 and result.report.summary.billed == 21
    names = sorted(site.outbox_files())
    assert any(n.endswith("-RBS_001.837") for n in names), names
    assert not any("/" in n for n in names)
    for name in names:  # one sender per interchange
        assert _isa(site.outbox / name)[6].strip() in ("RBS001", "RBS/001")
    slash = [n for n in names if n.endswith("-RBS_001.837")]
    assert all(_isa(site.outbox / n)[6].strip() == "RBS/001" for n in slash)


# ------------------------------------------------------------------------------------------------ item 8


def _run_in_child(config: Path) -> dict:
    """`cob run` on a site in a fresh interpreter: its exit code and its own peak RSS in MB (VmHWM; see
    tests/test_reader_bounds.py for why not ru_maxrss)."""
    from test_reader_bounds import PEAK_RSS_MB

    script = ("import json, sys\n"
              "from cob.run.config import load_config\nfrom cob.run.runner import RunOptions, run_batch\n"
              "from tests.run.conftest import NOW\n"
              f"r = run_batch(load_config({str(config)!r}), RunOptions(now=NOW, validate=False, workers=1))\n"
              f"print(json.dumps({{'code': r.exit_code, 'rss_mb': {PEAK_RSS_MB}}}))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_roster_after_an_isa_costs_bounded_memory_and_kilobytes_of_reports(tmp_path):
    """Before: 100 MB of roster text after a valid ISA took 1.26 GB RSS and wrote about 1 GB of reports
    (the text quoted as a "segment id" in every report). Now: 48 MB of it is refused at segment 2 once
    longer than MAX_SEGMENT, quarantined with a reason of a few lines, the rest billed as usual."""
    from cob.edi.tokens import MAX_SEGMENT

    plain = _site(tmp_path, "plain")
    base = _run_in_child(plain.config_path)
    assert base["code"] == 0
    site = _site(tmp_path)
    row = "TURNER HAZEL,19710314,JAH450165023,5246 HIGHLAND AVE\n"
    with open(site.inbox / "roster.837", "w") as fh:
        fh.write((SAMPLE / "claims-0001.837").read_text()[:106] + "NAME,BIRTHDATE,MEMBER ID,ADDRESS\n")
        for _ in range(48):  # 48 MB, written in 1 MB pieces
            fh.write(row * (1024 * 1024 // len(row)))
    out = _run_in_child(site.config_path)
    assert out["code"] == 1
    assert out["rss_mb"] < base["rss_mb"] + 20, (out, base)
    print(f"peak RSS: sample {base['rss_mb']:.1f} MB, sample + 48 MB roster {out['rss_mb']:.1f} MB")
    assert site.listing("rejected") == ["roster.837", "roster.837.reason.txt"]
    reason = (site.root / "rejected" / "roster.837.reason.txt").read_text()
    assert f"segment 2: segment longer than {MAX_SEGMENT} characters" in reason, reason
    report_bytes = sum(p.stat().st_size for p in (site.root / "reports").iterdir())
    assert report_bytes < 2 * sum(p.stat().st_size for p in (plain.root / "reports").iterdir()) + 4096
    assert len(reason) < 2048
    assert "HAZEL" not in reason + _everything_written(site) and "BIRTHDATE" not in _everything_written(site)
    assert len(site.listing("archive")) == 10  # the sample's files: billed as without the roster
    assert sorted(site.outbox_files()) == sorted(plain.outbox_files())


# ------------------------------------------------------------------------------------------------ item 9


def test_an_837_from_another_submitter_is_quarantined_by_default(tmp_path, make_site):
    site = _both(make_site)
    _set_isa_parties(site.inbox / "claims-0002.837", "OTHERSUBMITTER", "OTHERCLEARHS")
    result = site.run()
    assert result.exit_code == 1
    assert site.listing("rejected") == ["claims-0002.837", "claims-0002.837.reason.txt"]
    reason = (site.root / "rejected" / "claims-0002.837.reason.txt").read_text()
    assert ("an 837 from submitter ZZ:OTHERSUBMITTER to ZZ:OTHERCLEARHS, not this site's (ZZ:RBS001 to "
            "ZZ:ACMECLEAR01)") in reason and 'other_submitters = "separate"' in reason
    assert not any(b"OTHER" in data for data in site.outbox_files().values())
    # a later night: "ours" is what the state recorded first, so another foreign file is still refused
    late = site.inbox / "claims-0003.837"
    shutil.copy(SAMPLE / "claims-0003.837", late)
    _set_isa_parties(late, "ANOTHERONE", "ACMECLEAR01")
    shutil.copy(SAMPLE / "claims-0001.837", site.inbox / "again-0001.837")  # ours: a duplicate, not refused
    second = site.run()
    assert "claims-0003.837" in site.listing("rejected")
    assert "again-0001.837" not in site.listing("rejected")
    assert "ZZ:ANOTHERONE to ZZ:ACMECLEAR01" in (site.root / "rejected" / "claims-0003.837.reason.txt").read_text()
    assert second.exit_code == 1


def test_other_submitters_separate_bills_them_in_interchanges_of_their_own(tmp_path):
    site = _site(tmp_path)
    site.config_path.write_text(site.config_path.read_text().replace('other_submitters = "quarantine"',
                                                                     'other_submitters = "separate"'))
    _set_isa_parties(site.inbox / "claims-0002.837", "OTHERSUBMITTER", "OTHERCLEARHS")
    result = site.run()
    assert result.exit_code == 0 and result.report.summary.billed == 21
    theirs = {c for c in _billed(result) if f"CLM|{c}|" in (SAMPLE / "claims-0002.837").read_text()}
    assert len(theirs) == 6
    files = site.outbox_files()
    foreign = {n for n in files if _isa(site.outbox / n)[6].strip() == "OTHERSUBMITTER"}
    assert foreign
    for name, data in files.items():
        isa = _isa(site.outbox / name)
        text = data.decode()
        has_theirs = any(f"CLM{text[3]}{c}{text[3]}" in text for c in theirs)
        if name in foreign:
            assert isa[8].strip() == "OTHERCLEARHS" and has_theirs
        else:
            assert (isa[6].strip(), isa[8].strip()) == ("RBS001", "ACMECLEAR01") and not has_theirs


# ------------------------------------------------------------------------------------------------ item 10


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(os.lstat(p).st_mode) for p in [root, *root.rglob("*")]
            if not p.is_symlink()}


def test_everything_cob_creates_is_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        site = _site(tmp_path)
        (site.inbox / "junk.txt").write_text("not X12\n")
        assert site.run().exit_code == 1
        assert (site.root / "cob.toml").stat().st_mode & 0o777 == 0o600
        for name, mode in _modes(site.root).items():
            if name in ("inbox", "."):
                continue
            path = site.root / name
            expected = 0o700 if path.is_dir() else 0o600
            assert mode == expected, (name, oct(mode))
        assert {p.name for p in site.root.iterdir()} >= {"cob-state.db", "archive", "rejected", "reports", "outbox"}
    finally:
        os.umask(old)


def test_files_mode_widens_on_purpose(tmp_path):
    old = os.umask(0o077)
    try:
        site = _site(tmp_path)
        site.config_path.write_text(site.config_path.read_text().replace('mode = "0600"', 'mode = "0640"'))
        assert load_config(site.config_path).file_mode == 0o640
        site.run()
        assert stat.S_IMODE((site.root / "cob-state.db").stat().st_mode) == 0o640
        assert stat.S_IMODE((site.root / "archive").stat().st_mode) == 0o700  # made by cob init (0600)
        assert {stat.S_IMODE(p.stat().st_mode) for p in site.outbox.iterdir()} == {0o640}
        assert {stat.S_IMODE(p.stat().st_mode) for p in (site.root / "reports").iterdir()} == {0o640}
    finally:
        os.umask(old)
    for bad in ("0777", "0700", "0606", "rw", "0400"):
        site.config_path.write_text(site.config_path.read_text().replace('mode = "0640"', f'mode = "{bad}"'))
        with pytest.raises(ConfigError, match="files.mode must be an octal file mode"):
            load_config(site.config_path)
        site.config_path.write_text(site.config_path.read_text().replace(f'mode = "{bad}"', 'mode = "0640"'))


def test_cob_init_folders_are_private_under_umask_022(tmp_path):
    old = os.umask(0o022)
    try:
        config = init_folder(tmp_path / "new")
    finally:
        os.umask(old)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    for name in ("", "inbox", "outbox", "archive", "rejected", "reports"):
        assert stat.S_IMODE((tmp_path / "new" / name).stat().st_mode) == 0o700, name


def test_links_in_the_inbox_are_quarantined_never_followed(tmp_path, make_site):
    """A link to /etc/passwd, one to an X12 file elsewhere and a dangling one: each link itself is moved to
    rejected/ with a reason; no target is read, moved or billed."""
    site = _both(make_site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "claims-0009.837"
    shutil.copy(SAMPLE / "claims-0001.837", target)
    (site.inbox / "claims-0001.837").unlink()  # its claims could come only through the link
    (site.inbox / "passwd.837").symlink_to("/etc/passwd")
    (site.inbox / "linked.837").symlink_to(target)
    (site.inbox / "dangling.837").symlink_to(tmp_path / "nothing-here")
    result = site.run()
    assert result.exit_code == 1
    assert not _billed(result) & set(CLAIMS_0001)
    rejected = site.root / "rejected"
    assert sorted(os.listdir(rejected)) == sorted(
        f"{n}{s}" for n in ("dangling.837", "linked.837", "passwd.837") for s in ("", ".reason.txt"))
    assert os.readlink(rejected / "linked.837") == str(target) and target.read_bytes() == \
        (SAMPLE / "claims-0001.837").read_bytes()
    assert os.readlink(rejected / "passwd.837") == "/etc/passwd"
    for name in ("passwd.837", "linked.837", "dangling.837"):
        reason = (rejected / f"{name}.reason.txt").read_text()
        assert "symbolic link" in reason and "sha256: (could not be read)" in reason
    assert "root:" not in _everything_written(site)
    assert os.listdir(site.inbox) == []


# ------------------------------------------------------------------------------------------------ items 13, 14


def _config_error(tmp_path: Path, text: str) -> str:
    config = init_folder(tmp_path / "cfg")
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ('[folders]\nreports = "inbox/reports"\n', "folders.reports"),
    ('[folders]\nreports = "outbox/reports"\n', "is inside the outbox"),
    ('[folders]\narchive = "inbox/archive"\n', "folders.archive"),
    ('[state]\nurl = "mysql://cob@db/cob"\n', "state.url has the unknown scheme 'mysql'"),
    ('[state]\nurl = "sqlit:///cob.db"\n', "state.url has the unknown scheme 'sqlit'"),
    ("[run]\nsettle_seconds = inf\n", "run.settle_seconds must be a number of seconds from 0 to 86400 (found inf)"),
    ("[run]\nsettle_seconds = nan\n", "(found nan)"),
    ("[run]\nsettle_seconds = -1\n", "settle_seconds must not be negative"),
    ("[claims]\nmax_wait_days = 999999999999\n", "claims.max_wait_days must be at most 36500"),
    ('[interchange]\nother_submitters = "yes"\n', "interchange.other_submitters must be"),
])
def test_configuration_refused(tmp_path, text, expected):
    assert expected in _config_error(tmp_path, text)


def test_configuration_accepted_plain_sqlite_paths(tmp_path):
    config = init_folder(tmp_path / "cfg")
    for url in ("cob-state.db", "sqlite:///cob-state.db", "sqlite:cob-state.db"):
        config.write_text(f'[state]\nurl = "{url}"\n')
        assert load_config(config).sqlite_path == tmp_path / "cfg" / "cob-state.db"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cob", *args], capture_output=True, text=True,
                          env={**os.environ, "COB_NOW": NOW.isoformat()})


def test_a_missing_folder_is_named_and_never_created(tmp_path):
    config = init_folder(tmp_path / "site")
    shutil.rmtree(tmp_path / "site" / "inbox")
    config.write_text(config.read_text().replace('inbox = ["inbox"]', 'inbox = ["inbxo"]'))
    proc = _cli("run", "--config", str(config))
    assert proc.returncode == 2
    assert f"the inbox folder {tmp_path / 'site' / 'inbxo'} does not exist" in proc.stderr
    assert not (tmp_path / "site" / "inbxo").exists() and not (tmp_path / "site" / "cob-state.db").exists()


def test_a_folder_path_that_is_a_file(tmp_path):
    config = init_folder(tmp_path / "site")
    shutil.rmtree(tmp_path / "site" / "reports")
    (tmp_path / "site" / "reports").write_text("")
    proc = _cli("run", "--config", str(config))
    assert proc.returncode == 2 and f"the reports path {tmp_path / 'site' / 'reports'} is not a folder" in proc.stderr
    (tmp_path / "file").write_text("")
    proc = _cli("init", str(tmp_path / "file"))
    assert proc.returncode == 2 and "is a file" in proc.stderr and "internal error" not in proc.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "outbox").write_text("")
    proc = _cli("init", str(tmp_path / "half"))
    assert proc.returncode == 2 and "internal error" not in proc.stderr
    assert f"{tmp_path / 'half' / 'outbox'} is a file, not a folder" in proc.stderr
    proc = _cli("init", str(tmp_path / "file" / "site"))  # under a file: the OS refuses, the path is named
    assert proc.returncode == 2 and "internal error" not in proc.stderr
    assert f"cannot create {tmp_path / 'file' / 'site'}: Not a directory" in proc.stderr


@pytest.mark.parametrize("key, name, content, expected", [
    ("coverage", "coverage.csv", "TURNER,HAZEL,19610203\n", "claims.coverage cannot be used"),
    ("coverage", "coverage.json", "{not json", "not valid JSON"),
    ("order_facts", "facts.json", '{"patients": [{"nope": 1}]}', "claims.order_facts cannot be used"),
    ("order_facts", "facts.json", "\xff\xfe", "claims.order_facts"),
])
def test_bad_coverage_or_order_facts_are_refused_at_the_start(tmp_path, key, name, content, expected):
    """Today raised in billing every night; now exit 2 before the run starts, naming the file, no value."""
    site = _site(tmp_path)
    (site.root / name).write_text(content, encoding="latin-1")
    site.config_path.write_text(site.config_path.read_text().replace(f'# {key} = "', f'{key} = "{name}" #'))
    proc = _cli("run", "--config", str(site.config_path))
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "internal error" not in proc.stderr
    assert "HAZEL" not in proc.stderr and "19610203" not in proc.stderr
    assert len(site.listing("inbox")) == 10 and not (site.root / "cob-state.db").exists()


def test_a_read_only_inbox_is_named(tmp_path, monkeypatch):
    """Moving an input out of the inbox fails (read-only share): the run says which path, exit 1."""
    site = _site(tmp_path)
    import cob.run.runner as runner

    def refuse(source, dest):
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(runner, "_move_whole", refuse)
    result = site.run()
    assert result.exit_code == 1
    assert any("Permission denied (" + str(site.inbox) in e for e in result.errors), result.errors


def test_a_full_reports_folder_is_our_output_problem(tmp_path, monkeypatch):
    site = _site(tmp_path)
    import cob.run.runner as runner

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "write_reports", full)
    result = site.run()
    assert result.exit_code == 1 and result.report_path is None
    assert any(e.startswith(f"cob run: cannot write the run's report into the reports folder {site.root / 'reports'}: "
                            "No space left on device") for e in result.errors)
    assert result.report.summary.billed == 21  # the work itself is committed
    monkeypatch.undo()
    assert site.run().exit_code == 0


# ------------------------------------------------------------------------------------------------ item 15


def test_folders_fifos_and_odd_names_in_the_inbox_are_reported(tmp_path):
    site = _site(tmp_path)
    (site.inbox / "sub").mkdir()
    os.mkfifo(site.inbox / "pipe.837")
    shutil.copy(SAMPLE / "remit-0001.835", site.inbox / "odd\x1b]0;title\x07\nname.835")
    result = site.run()
    assert result.report.summary.billed == 21
    assert "cob run: inbox entry sub skipped: a folder inside the inbox: not read (cob reads only the files " \
           "directly in the inbox)" in result.errors
    assert "cob run: inbox entry pipe.837 skipped: a FIFO, not a regular file: never opened" in result.errors
    report = json.loads(result.report_path.read_text())
    assert sum("skipped" in p for p in report["run"]["problems"]) == 2
    assert {"sub", "pipe.837"} <= {json.loads(line).get("file") for line in result.log_path.read_text().splitlines()}
    # the odd name is a duplicate of remit-0001.835's content, shown escaped everywhere
    assert not any("\x1b" in e or "\x07" in e for e in result.errors)
    assert "odd\\x1b]0;title\\x07\\x0aname.835" in {i["file"] for i in report["run"]["inputs"]}
    assert "\x1b" not in _everything_written(site)
    again = site.run()  # still there, still said
    assert sum("skipped" in e for e in again.errors) == 2
    assert (site.inbox / "sub").is_dir() and stat.S_ISFIFO(os.lstat(site.inbox / "pipe.837").st_mode)


def test_control_characters_in_names_never_reach_the_terminal(tmp_path):
    """`cob run -v` prints the problems and the summary; a name holding an escape sequence, a bell, a line break
    and a C1 control is shown with \\x escapes on whichever stream it goes to (raw, it would rewrite the
    operator's terminal or forge a line of the log)."""
    site = _site(tmp_path)
    (site.inbox / "claims-0001.837").rename(site.inbox / "c\x1b[2J\x07\nFAKE\x9b.837")
    (site.inbox / "junk\x1b]0;x\x07.txt").write_text("not X12\n")
    proc = _cli("run", "-v", "--config", str(site.config_path))
    assert proc.returncode == 1 and "internal error" not in proc.stderr
    out = proc.stdout + proc.stderr
    assert not any(c in out for c in "\x1b\x07\x9b"), out
    report = json.loads(next((site.root / "reports").glob("*.json")).read_text())
    assert "c\\x1b[2J\\x07\\x0aFAKE\\x9b.837" in {i["file"] for i in report["run"]["inputs"]}
    assert "quarantined junk\\x1b]0;x\\x07.txt" in proc.stderr
    assert sorted(os.listdir(site.root / "rejected")) == ["junk\\x1b]0;x\\x07.txt", "junk\\x1b]0;x\\x07.txt.reason.txt"]
    assert "c\\x1b[2J\\x07\\x0aFAKE\\x9b.837" in os.listdir(site.root / "archive")


@pytest.mark.parametrize("bad", ["BHX*0019*00*", "bht*0019*00*"])
def test_a_misspelled_bht_in_cob_secondary(tmp_path, bad):
    claims = tmp_path / "claims"
    shutil.copytree(SAMPLE, claims)
    f = claims / "claims-0001.837"
    f.write_text(f.read_text().replace("BHT*0019*00*", bad, 1))
    proc = _cli("secondary", "--claims", str(claims), "--remit", str(SAMPLE), "--out", str(tmp_path / "out"),
                "--report", "-")
    assert proc.returncode == 1 and "internal error" not in proc.stderr
    report = json.loads(proc.stdout)
    bad_inputs = [i for i in report["inputs"] if i["status"] == "error"]
    assert [Path(i["file"]).name for i in bad_inputs] == ["claims-0001.837"] and "segment 4" in bad_inputs[0]["error"]
    assert report["summary"]["billed"] > 0
