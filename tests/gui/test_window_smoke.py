def test_window_opens_a_demo_project(qtbot, demo_project):
    from annotations.store import Store
    from gui.main_window import MainWindow
    win = MainWindow()
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.project_opened, timeout=10000):
        win.open_path(demo_project)
    assert isinstance(win.store, Store) and win.store.image_count() == 40
    win.close()
    assert win.store is None
