"""Default category colours: COCO's 80 classes get 80 different colours, the same on the canvas, in
the category list's swatches and in the live view's overlay."""
import numpy as np

from annotations.model import Category


def test_eighty_categories_get_eighty_different_colours_everywhere(qapp):
    from gui.canvas.painting import RenderContext
    from gui.overlay import project_colors
    from gui.palette import PALETTE
    from gui.panels.category_list import category_color
    cats = [Category(i, f"class {i}") for i in range(1, 81)]
    canvas = RenderContext()
    rgb = np.array([canvas.color(c.id).getRgb()[:3] for c in cats], float)
    assert [canvas.color(i).name() for i in range(1, 17)] == list(PALETTE)
    distance = np.sqrt(((rgb[:, None] - rgb[None]) ** 2).sum(-1))
    np.fill_diagonal(distance, np.inf)
    assert distance.min() > 20  # cycling the palette drew ids 1 and 17 (person and cat) alike
    assert [category_color(c).name() for c in cats] == [canvas.color(c.id).name() for c in cats]
    overlay = project_colors(cats)
    assert [overlay[c.name] for c in cats] == [tuple(int(v) for v in row) for row in rgb]
    own = Category(17, "cat", color="#123456")  # a colour of its own wins everywhere
    assert category_color(own).name() == RenderContext(colors=((17, "#123456"),)).color(17).name() == "#123456"
