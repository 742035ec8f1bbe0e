"""场所数据统计 as an Excel file (导出Excel, 图4-15), written with openpyxl's write-only workbook (rows
stream out; memory stays flat however many places there are).

Cells a person typed (place names, regions) go through the exports' ``neutralise``: text that starts like
a formula gets a leading apostrophe, so a spreadsheet never evaluates it.
"""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook

from models.exports import neutralise

HEADER = ("序号", "场所", "地区", "类别", "计划数", "完成数", "完成比率", "参与人数")


def stats_workbook(rows, start: tuple[int, int], end: tuple[int, int]) -> Response:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("场所数据统计")
    sheet.append([f"月份起止：{start[0]}-{start[1]:02d} 至 {end[0]}-{end[1]:02d}"])
    sheet.append(list(HEADER))
    for n, row in enumerate(rows, start=1):
        sheet.append([n, neutralise(row.place.name), neutralise(row.place.region), row.level_label, row.planned,
                      row.done, row.rate_text, row.participants])
    out = io.BytesIO()
    book.save(out)
    name = f"场所数据统计_{start[0]}{start[1]:02d}-{end[0]}{end[1]:02d}.xlsx"
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
