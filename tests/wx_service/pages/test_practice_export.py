"""场所数据统计's Excel file: what a person typed never runs as a formula in the admin's spreadsheet."""

from __future__ import annotations

import io
from types import SimpleNamespace

from openpyxl import load_workbook

from wx_service.pages.practice_export import stats_workbook


def _row(name: str, region: str):
    return SimpleNamespace(place=SimpleNamespace(name=name, region=region), level_label="实践站", planned=12,
                           done=7, rate_text="58.3%", participants=46)


def test_a_place_named_like_a_formula_is_written_as_text():
    answer = stats_workbook([_row('=HYPERLINK("http://evil.example/x","点此领取")', "@SUM(1+1)"),
                             _row("-2+3", "+86"), _row("唐闸古镇新时代文明实践站", "崇川区")], (2026, 1), (2026, 3))
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "月份起止：2026-01 至 2026-03"
    assert [r[1:3] for r in rows[2:]] == [("'=HYPERLINK(\"http://evil.example/x\",\"点此领取\")", "'@SUM(1+1)"),
                                          ("'-2+3", "'+86"), ("唐闸古镇新时代文明实践站", "崇川区")]
    assert rows[2][4:] == (12, 7, "58.3%", 46)  # numbers stay numbers
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
