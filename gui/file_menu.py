"""The File menu of the main window: open a project or an image folder, recent projects, import and
export of labels in the formats of annotations.formats (run as background jobs), settings, quit."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from annotations.formats import format_info, registry

from .jobs import Job

RECENT_KEY = "recent_projects"
MAX_RECENT = 10
REPORT_WARNINGS = 1000  # warnings of an import or export report kept in its message (the rest counted)


class FileMenu(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        menu = window.menu("&File")
        window._action("file.open_project", self.choose_project, "&File")
        window._action("file.open_folder", self.choose_image_folder, "&File")
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        menu.addSeparator()
        self.import_menu: QMenu = menu.addMenu("&Import labels")
        self.export_menu: QMenu = menu.addMenu("&Export labels")
        self.export_predictions = QAction("Include predictions in exports", self)
        self.export_predictions.setCheckable(True)
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.export_predictions)
        self._formats_listed = False
        for sub in (self.import_menu, self.export_menu):  # the formats' modules load when first asked for
            sub.aboutToShow.connect(self.list_formats)
        menu.addSeparator()

    def list_formats(self) -> None:
        """Fill the Import and Export submenus with the registered formats (once)."""
        if self._formats_listed:
            return
        self._formats_listed = True
        first_export = self.export_menu.actions()[0]
        for info in registry():
            if info.imports:
                act = self.import_menu.addAction(f"{info.title}\u2026")
                act.triggered.connect(lambda _=False, f=info.name: self.choose_import(f))
            if info.imports and info.folder_title:  # CVAT's, datumaro's, Roboflow's, FiftyOne's data-set folders
                act = self.import_menu.addAction(f"{info.folder_title}\u2026")
                act.triggered.connect(lambda _=False, f=info.name: self.choose_import(f, folder=True))
            act = QAction(f"{info.title}\u2026", self.export_menu)
            act.triggered.connect(lambda _=False, f=info.name: self.choose_export(f))
            self.export_menu.insertAction(first_export, act)

    def add_tail(self) -> None:
        """Settings and Quit go last, after whatever the features added."""
        menu = self.window.menu("&File")
        menu.addSeparator()
        self.window._action("file.settings", self.window.show_settings, "&File")
        self.window._action("file.quit", self.window.close, "&File")
        self.window.apply_keymap(self.window.keymap)

    def update_enabled(self, has_project: bool) -> None:
        self.import_menu.setEnabled(has_project)
        self.export_menu.setEnabled(has_project)

    # ---- opening ----------------------------------------------------------------------------
    def choose_project(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open project folder", self._last_dir())
        if path:
            self._set_last_dir(path)
            self.window.open_path(path)

    def choose_image_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a folder of images (it becomes a project)",
                                                self._last_dir())
        if path:
            self._set_last_dir(path)
            self.window.open_path(path)

    # ---- recent projects ---------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = QSettings().value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def remember(self, root: Path) -> None:
        path = Path(root).as_posix()
        items = [path] + [p for p in self.recent() if p != path]
        QSettings().setValue(RECENT_KEY, items[:MAX_RECENT])

    def forget(self, root: Path) -> None:
        path = Path(root).as_posix()
        QSettings().setValue(RECENT_KEY, [p for p in self.recent() if p != path])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        for p in items:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self.window.open_path(path))
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list").triggered.connect(lambda: QSettings().remove(RECENT_KEY))

    def _last_dir(self) -> str:
        return str(QSettings().value("file_dialog/last_dir", str(Path.home())))

    def _set_last_dir(self, path: str) -> None:
        QSettings().setValue("file_dialog/last_dir", str(Path(path).parent if Path(path).is_file() else path))

    # ---- import and export ---------------------------------------------------------------------
    def choose_import(self, fmt: str, folder: bool = False) -> None:
        info = format_info(fmt)
        title = f"Import {info.folder_title if folder else info.title}"
        if info.single_file and not folder:
            path, _ = QFileDialog.getOpenFileName(self.window, title, self._last_dir(), "JSON (*.json);;All files (*)")
        else:
            path = QFileDialog.getExistingDirectory(self.window, title, self._last_dir())
        if path:
            self._set_last_dir(path)
            self.import_labels(fmt, path)

    def choose_export(self, fmt: str) -> None:
        title = f"Export {format_info(fmt).title}"
        if format_info(fmt).single_file:
            path, _ = QFileDialog.getSaveFileName(self.window, title, str(Path(self._last_dir()) / "labels.json"),
                                                  "JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self.window, title, self._last_dir())
        if path:
            self._set_last_dir(path)
            self.export_labels(fmt, path, include_predictions=self.export_predictions.isChecked())

    def import_labels(self, fmt: str, path: str | Path, image_dir: str | Path | None = None) -> Job | None:
        """Import in a background job (all or nothing); the result or the problem becomes a message."""
        from annotations import formats
        return self._file_job("Import", path, f"Importing {format_info(fmt).title} from {path}",
                              lambda store, progress: formats.import_labels(store, fmt, Path(path), image_dir=image_dir,
                                                                            progress=progress))

    def export_labels(self, fmt: str, out_path: str | Path, include_predictions: bool = False) -> Job | None:
        from annotations import formats
        return self._file_job("Export", out_path, f"Exporting {format_info(fmt).title} to {out_path}",
                              lambda store, progress: formats.export_labels(store, fmt, Path(out_path),
                                                                            include_predictions=include_predictions,
                                                                            progress=progress))

    def _file_job(self, what: str, path: str | Path, title: str, work) -> Job | None:
        """work(store, progress(done, total)) in a job on the open project; its report becomes a message."""
        store = self.window.store
        if store is None:
            return None
        step = f"{'Importing' if what == 'Import' else 'Writing'} {Path(path).name}"
        job = Job(lambda ctx: work(store, lambda d, t: ctx.progress(d, t, step)))
        job.finished.connect(lambda report: self._report(what, path, report))
        return self.window.run_job(job, title)

    def _report(self, what: str, path, report) -> None:
        """The report in a message: its first lines, every warning (up to REPORT_WARNINGS) under Show Details."""
        warnings = list(report.warnings)
        text = str(replace(report, warnings=warnings[:REPORT_WARNINGS]))
        if len(warnings) > REPORT_WARNINGS:
            text += f"\n  ... and {len(warnings) - REPORT_WARNINGS} more warnings"
        self.window.inform(what, text)
