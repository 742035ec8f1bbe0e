"""The Excel file of an export, written by a process of its own.

openpyxl's cells and their XML are most of an Excel export's time (about 50 µs a row of ten cells, with
lxml); in a process of their own they run beside the export's reading (the database, decryption) on
another CPU, instead of after it.  The export sends each sheet's header and then its rows a batch at a
time down a pipe that holds about one batch, so memory stays flat on both sides.  The child is spawned
(not forked: the parent may be a threaded web process running jobs in-process) and imports only openpyxl
and this module's package.
"""

from __future__ import annotations

import multiprocessing

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

SAVE_WAIT = 600  # seconds the export waits for the file once every row is sent


class XlsxWriter:
    """A workbook with a sheet each (Excel's sheet names hold 31 characters)."""

    def __init__(self, path):
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_write, args=(child, str(path)), daemon=True, name="xlsx-writer")
        self._process.start()
        child.close()

    def sheet(self, title, header):
        self._pipe.send(("sheet", title[:31], list(header)))

    def rows(self, rows):
        self._pipe.send(("rows", list(rows)))

    def close(self):
        """Save the file; raises when the writer failed or did not answer."""
        try:
            self._pipe.send(("save",))
            answer = self._pipe.recv() if self._pipe.poll(SAVE_WAIT) else ("error", "no answer")
        except (EOFError, OSError) as exc:
            answer = ("error", f"the writer exited ({exc.__class__.__name__})")
        finally:
            self.discard()
        if answer[0] != "saved":
            raise RuntimeError(f"the Excel file was not written: {answer[1]}")

    def discard(self):
        """Let the writer go without a file (the export failed): closing the pipe ends it."""
        self._pipe.close()
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _legal(value):
    """Text without the control characters XML cannot hold (openpyxl would refuse the whole file)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if value.__class__ is str else value


def _write(pipe, path: str) -> None:
    """The child: build the workbook from what comes down the pipe; after a failure keep reading (the
    export is still sending) and answer the failure at the end."""
    book, sheet, failure = Workbook(write_only=True), None, None
    while True:
        try:
            message = pipe.recv()
        except EOFError:  # the export gave up
            return
        try:
            if failure is not None and message[0] != "save":
                continue
            if message[0] == "sheet":
                sheet = book.create_sheet(message[1])
                sheet.append(message[2])
            elif message[0] == "rows":
                for row in message[1]:
                    sheet.append([_legal(value) for value in row])
            else:
                if failure is None:
                    book.save(path)
                pipe.send(("saved",) if failure is None else ("error", failure))
                return
        except Exception as exc:  # an answer at "save", never a dead pipe the export would block on
            failure = f"{exc.__class__.__name__}: {exc}"[:300]
