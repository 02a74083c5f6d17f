"""torchvision's detectors and segmenters, one row each: adding one of torchvision's models is adding
its row. Category names come from torchvision's weights metadata (read without downloading
anything): COCO for the detectors, with "__background__" at 0 and "N/A" placeholders where COCO has
no class, so a model's label index is COCO's category id; VOC for the semantic segmenters."""
from __future__ import annotations

from torchvision.models import detection as tv_detection
from torchvision.models import segmentation as tv_segmentation

from ..model_spec import ANCHOR_MAJOR, CLASS_MAJOR, DETECTION, INSTANCE, SEMANTIC, ModelSpec

ORDER = 0  # listed first


def _coco() -> tuple[str, ...]:
    return tuple(tv_detection.FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"])


def _voc() -> tuple[str, ...]:
    return tuple(tv_segmentation.FCN_ResNet50_Weights.DEFAULT.meta["categories"])


def _rows() -> tuple[ModelSpec, ...]:
    coco, voc = _coco(), _voc()
    rows = [
        # name, task, categories, min_size, max_size, default score, family, layout, description
        ("fasterrcnn_resnet50_fpn", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, ResNet-50 FPN"),
        ("fasterrcnn_resnet50_fpn_v2", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN v2, ResNet-50 FPN (more accurate, slower)"),
        ("fasterrcnn_mobilenet_v3_large_fpn", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, MobileNetV3-Large FPN"),
        ("fasterrcnn_mobilenet_v3_large_320_fpn", DETECTION, coco, 320, 640, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, MobileNetV3-Large FPN at 320 px (fast, for live video on a CPU)"),
        ("retinanet_resnet50_fpn", DETECTION, coco, 800, 1333, 0.4, "retinanet", ANCHOR_MAJOR,
         "RetinaNet, ResNet-50 FPN"),
        ("retinanet_resnet50_fpn_v2", DETECTION, coco, 800, 1333, 0.4, "retinanet", ANCHOR_MAJOR,
         "RetinaNet v2, ResNet-50 FPN"),
        ("fcos_resnet50_fpn", DETECTION, coco, 800, 1333, 0.4, "fcos", ANCHOR_MAJOR,
         "FCOS, ResNet-50 FPN (anchor free)"),
        ("ssd300_vgg16", DETECTION, coco, 300, 300, 0.4, "ssd", ANCHOR_MAJOR,
         "SSD 300, VGG-16"),
        ("ssdlite320_mobilenet_v3_large", DETECTION, coco, 320, 320, 0.4, "ssdlite", ANCHOR_MAJOR,
         "SSDlite 320, MobileNetV3-Large (fastest)"),
        ("maskrcnn_resnet50_fpn", INSTANCE, coco, 800, 1333, 0.5, "maskrcnn", CLASS_MAJOR,
         "Mask R-CNN, ResNet-50 FPN"),
        ("maskrcnn_resnet50_fpn_v2", INSTANCE, coco, 800, 1333, 0.5, "maskrcnn", CLASS_MAJOR,
         "Mask R-CNN v2, ResNet-50 FPN"),
        ("fcn_resnet50", SEMANTIC, voc, 520, 520, 0.0, "fcn", CLASS_MAJOR, "FCN, ResNet-50"),
        ("fcn_resnet101", SEMANTIC, voc, 520, 520, 0.0, "fcn", CLASS_MAJOR, "FCN, ResNet-101"),
        ("deeplabv3_resnet50", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, ResNet-50"),
        ("deeplabv3_resnet101", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, ResNet-101"),
        ("deeplabv3_mobilenet_v3_large", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, MobileNetV3-Large"),
        ("lraspp_mobilenet_v3_large", SEMANTIC, voc, 520, 520, 0.0, "lraspp", CLASS_MAJOR,
         "LR-ASPP, MobileNetV3-Large (fast)"),
    ]
    return tuple(ModelSpec(name, task, cats, mn, score, mx, family, layout, 0.5, desc)
                 for name, task, cats, mn, mx, score, family, layout, desc in rows)


MODELS = _rows()
