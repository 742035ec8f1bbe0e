"""The Excel writer of the exports, a process of its own: the file it writes, and how it fails."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from jobs.xlsx_writer import XlsxWriter

pytestmark = pytest.mark.timeout(60)


def test_sheets_and_rows_sent_in_batches_make_the_workbook(tmp_path):
    path = tmp_path / "members.xlsx"
    writer = XlsxWriter(path)
    writer.sheet("成员数据（南通市崇川区新城桥街道志愿者服务总队）", ("姓名", "志愿号", "总时长"))
    writer.rows(("周桂兰", f"JH{n:07d}", n / 2) for n in range(3))
    writer.rows([("陆建华\x01", "JH0000003", 12.5)])  # a control character XML cannot hold is left out
    writer.sheet("时长数据", ("项目", "时长"))
    writer.rows([("'=HYPERLINK(\"x\")", 2)])
    writer.close()
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["成员数据（南通市崇川区新城桥街道志愿者服务总队）"[:31], "时长数据"]
    members = list(book.worksheets[0].values)
    assert members[0] == ("姓名", "志愿号", "总时长")
    assert members[1:] == [("周桂兰", "JH0000000", 0), ("周桂兰", "JH0000001", 0.5), ("周桂兰", "JH0000002", 1),
                           ("陆建华", "JH0000003", 12.5)]
    assert list(book.worksheets[1].values)[1] == ("'=HYPERLINK(\"x\")", 2)


def test_a_value_the_writer_refuses_fails_the_file_at_close_without_blocking_the_export(tmp_path):
    writer = XlsxWriter(tmp_path / "broken.xlsx")
    writer.sheet("成员数据", ("姓名",))
    writer.rows([(object(),)])  # pickled, then refused by openpyxl in the child
    for _ in range(50):  # the export goes on sending, far past what the pipe holds: the child keeps reading
        writer.rows([("周桂兰",)] * 2000)
    with pytest.raises(RuntimeError, match="not written"):
        writer.close()
    assert not (tmp_path / "broken.xlsx").exists()
    assert not writer._process.is_alive()


def test_an_export_that_gives_up_ends_its_writer(tmp_path):
    writer = XlsxWriter(tmp_path / "abandoned.xlsx")
    writer.sheet("成员数据", ("姓名",))
    writer.discard()
    assert not writer._process.is_alive() and writer._process.exitcode == 0
    assert not (tmp_path / "abandoned.xlsx").exists()
