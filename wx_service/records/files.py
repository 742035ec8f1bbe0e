"""志愿服务记录证明 as a PDF (fpdf2, the CJK font of Debian's fonts-noto-cjk embedded as a subset) and as a PNG
(Pillow) a volunteer long-presses to save in WeChat.  Both draw the same facts: the certificate's content as
issued, its number and issue date, and a QR code of the public verification page.

Noto Sans CJK has CFF (PostScript) outlines.  fpdf2 embeds such a font with a ToUnicode map that does not match
the codes it writes, so the PDF's text cannot be searched, copied or read back.  The PDF therefore embeds a
TrueType font made, per certificate, from exactly the characters it prints: the face is cut to those glyphs with
fontTools and its cubic outlines turned into quadratic ones (cu2qu) — a few hundred glyphs, about a second.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from dataclasses import dataclass

import qrcode
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

TITLE = "志愿服务记录证明"
RED = (178, 34, 34)


@dataclass(frozen=True)
class Font:
    """``[records] cjk_font`` / ``cjk_font_index``: a TrueType/OpenType file or collection and the face in it."""

    path: str
    index: int = 0


def _qr_image(url: str) -> Image.Image:
    return qrcode.make(url, box_size=8, border=2).get_image().convert("RGB")


def _subject(content: dict) -> str:
    v = content["volunteer"]
    who = f"{v['name']}（{v['id_type']}：{v['id_number']}，志愿者编号：{v['number']}"
    if v.get("national_number"):
        who += f"，全国志愿者统一编号：{v['national_number']}"
    return who + "）"


def statement(content: dict) -> str:
    """The sentence that opens the certificate."""
    issuer = content["issuer"]["name"]
    if content["kind"] == "period":
        p = content["period"]
        span = f"于{p['start']}至{p['end']}期间参加{issuer}记录的志愿服务"
    else:
        span = f"参加{issuer}组织的志愿服务项目“{content['lines'][0]['project']}”"
    star = f"，为{content['star']}" if content.get("star") else ""
    return f"兹证明 {_subject(content)} {span}，累计服务时长 {content['total_hours']} 小时{star}。特此证明。"


def _dates(line: dict) -> str:
    if line["first_day"] == line["last_day"]:
        return line["first_day"]
    return f"{line['first_day']} 至 {line['last_day']}（{line['days']}天）"


def rows(content: dict) -> list[tuple[str, str, str, str, str]]:
    """(project, dates, service content, hours, note): the note says when hours are still in publicity."""
    return [(line["project"], _dates(line), line["content"], line["hours"], "（公示中）" if line.get("in_publicity") else "")
            for line in content["lines"]]


def footer(content: dict, number: str) -> list[str]:
    i = content["issuer"]
    return [f"出具单位：{i['name']}", f"负责人：{i['person_in_charge'] or '—'}　　联系方式：{i['contact'] or '—'}",
            f"证书编号：{number}", f"出具日期：{content['issued_on']}", "扫描二维码可核验本证明的真实性。"]


def entry_lines(content: dict) -> list[str]:
    return [f"{e['kind']}：{e['day']} {e['title']}{('，' + e['detail']) if e['detail'] else ''}（{e['org']}）"
            for e in content.get("entries") or ()]


# ------------------------------------------------------------------------------------ PDF
def truetype_for(font: Font, text: str) -> bytes:
    """A TrueType font holding the glyphs of ``text`` from ``font`` (CFF outlines converted to quadratic)."""
    face = TTFont(font.path, fontNumber=font.index, lazy=True)
    options = subset.Options()
    options.layout_features, options.hinting, options.desubroutinize, options.notdef_outline = [], False, True, True
    options.name_IDs = ["*"]
    cutter = subset.Subsetter(options)
    cutter.populate(text=text + " ")
    cutter.subset(face)
    if "glyf" not in face:
        order, glyphs = face.getGlyphOrder(), face.getGlyphSet()
        glyf = newTable("glyf")
        glyf.glyphOrder, glyf.glyphs = order, {}
        for name in order:
            pen = TTGlyphPen(glyphs)
            glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyf.glyphs[name] = pen.glyph()
        for table in ("CFF ", "VORG"):
            if table in face:
                del face[table]
        face["glyf"], face["loca"] = glyf, newTable("loca")
        maxp = face["maxp"]
        maxp.tableVersion = 0x00010000
        for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                      "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
            setattr(maxp, field, 1 if field == "maxZones" else 0)
        face["head"].glyphDataFormat = 0
        face["post"].formatType = 3.0
        face.sfntVersion = "\x00\x01\x00\x00"
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


def _all_text(content: dict, number: str) -> str:
    parts = [TITLE, statement(content), "0123456789. 服务日期内容时长小时合计：培训、表彰奖励与评价",
             content["total_hours"], *(c for row in rows(content) for c in row), *entry_lines(content),
             *footer(content, number)]
    return "".join(sorted(set("".join(parts))))


def pdf_bytes(content: dict, number: str, verify_url: str, font: Font) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(TITLE)
    with tempfile.NamedTemporaryFile(suffix=".ttf", delete=False) as handle:
        handle.write(truetype_for(font, _all_text(content, number)))
    try:
        pdf.add_font("cjk", fname=handle.name)
    finally:
        os.unlink(handle.name)
    pdf.add_page()
    pdf.set_font("cjk", size=22)
    pdf.set_text_color(*RED)
    pdf.cell(0, 16, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=12)
    pdf.ln(4)
    pdf.multi_cell(0, 8, statement(content), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for index, (project, dates, what, hours, note) in enumerate(rows(content), 1):
        pdf.set_font("cjk", size=12)
        pdf.multi_cell(0, 7, f"{index}. {project}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=10.5)
        for label, value in (("服务日期", dates), ("服务内容", what), ("服务时长", f"{hours} 小时{note}")):
            pdf.set_x(pdf.l_margin + 6)
            pdf.multi_cell(0, 6, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, f"合计服务时长：{content['total_hours']} 小时", new_x="LMARGIN", new_y="NEXT")
    extra = entry_lines(content)
    if extra:
        pdf.ln(3)
        pdf.cell(0, 8, "培训、表彰奖励与评价", new_x="LMARGIN", new_y="NEXT")
        for text in extra:
            pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    top = pdf.get_y()
    for text in footer(content, number):
        pdf.multi_cell(140, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.image(_qr_image(verify_url), x=pdf.w - pdf.r_margin - 36, y=top, w=36)
    return bytes(pdf.output())


# ------------------------------------------------------------------------------------ PNG
@functools.lru_cache(maxsize=8)
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` pixels (Chinese breaks anywhere)."""
    lines, current = [], ""
    for char in text:
        if face.getlength(current + char) > width and current:
            lines.append(current)
            current = char
        else:
            current += char
    return [*lines, current] if current else lines


def png_bytes(content: dict, number: str, verify_url: str, font: Font) -> bytes:
    width, margin = 1080, 72
    inner = width - 2 * margin
    title, body, small = (_pil_font(font.path, font.index, s) for s in (64, 34, 28))
    blocks: list[tuple[ImageFont.FreeTypeFont, str, tuple]] = []

    def add(face, text, colour=(0, 0, 0), indent=0):
        for part in _wrap(text, face, inner - indent):
            blocks.append((face, part, colour, indent))

    add(body, statement(content))
    blocks.append((small, "", (0, 0, 0), 0))
    for project, dates, what, hours, note in rows(content):
        add(body, f"{project}　{hours} 小时{note}", (0, 0, 0))
        add(small, f"{dates}　{what}", (90, 90, 90), 24)
    add(body, f"合计 {content['total_hours']} 小时")
    for text in entry_lines(content):
        add(small, text, (60, 60, 60))
    blocks.append((small, "", (0, 0, 0), 0))
    for text in footer(content, number):
        add(small, text, (40, 40, 40))
    line_gap = 14
    qr_side = 300
    height = margin + 110 + sum(face.size + line_gap for face, *_ in blocks) + 40 + qr_side + margin
    image = Image.new("RGB", (width, height), (255, 253, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 20, height - 20), outline=RED, width=6)
    draw.text((width // 2, margin + 30), TITLE, font=title, fill=RED, anchor="mm")
    y = margin + 110
    for face, text, colour, indent in blocks:
        draw.text((margin + indent, y), text, font=face, fill=colour)
        y += face.size + line_gap
    y += 40
    image.paste(_qr_image(verify_url).resize((qr_side, qr_side)), ((width - qr_side) // 2, y))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
