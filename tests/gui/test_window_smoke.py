def test_window_opens_a_demo_project(qtbot, demo_project, settings_dir):
    from annotations.store import Store
    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)  # the size these tests' coordinates assume
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.session.project_opened, timeout=10000):
        win.open_path(demo_project)
    assert isinstance(win.store, Store) and win.store.image_count() == 40
    assert win.file_list.model.rowCount() == 40
    assert win.file_list.current_id() == win.store.image_ids()[0]
    win.close()
    assert win.store is None
