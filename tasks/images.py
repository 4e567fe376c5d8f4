"""MNIST and Fashion-MNIST as tabular tasks, the way the paper fed them to LIFT (lift-spec.md §1.5).

The rows come from OpenML 554 (mnist_784) and 40996 (Fashion-MNIST) through the offline cache
(`tasks.openml_source`). Each row there is a 28x28 image as 784 pixel columns in row-major order, and
the 70,000 rows are the 60,000 official training images followed by the 10,000 official test images;
the tasks keep that test set as a fixed split (`TaskData.fixed_split`), and the splits module draws
the validation rows from the training images with the run's seed.

Features: the centre `crop` x `crop` window of the image, 18x18 = 324 integer pixels (0..255) by
default, which is the paper's `[5:-5, 5:-5]`. Each feature is named `px_<row>_<col>` after the pixel's
place in the original 28x28 image (0-based).

The permuted variants scramble the 784 pixels with a fixed permutation before the crop, so their
features are a fixed random subset of the image's pixels in a fixed random order, as in the paper.
The permutation is `numpy.random.default_rng(permutation_seed).permutation(784)`. The paper drew its
permutation with python's `random.seed(3247)`; the default seed here is 3247 too, but numpy's
generator gives a different permutation, so the exact pixel subset of the paper is not reproduced.

`OFFICIAL_ROWS` and `OFFICIAL_TRAIN_ROWS` say what the OpenML datasets hold; a cached dataset of
another size is refused rather than split in the wrong place.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from tasks.errors import LiftbenchError
from tasks.openml_source import load_openml
from tasks.openml_tasks import OPENML_CITATION, class_codes, openml_table_detail
from tasks.registry import register
from tasks.spec import TaskData, TaskSpec

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
OFFICIAL_ROWS = 70_000
OFFICIAL_TRAIN_ROWS = 60_000
PAPER_CROP = 18
PAPER_PERMUTATION_SEED = 3247
MAX_PIXEL = 255
SUITES = ("lift-extra", "images")


def center_crop(pixels: np.ndarray, side: int) -> np.ndarray:
    """The centre `side` x `side` window of 28x28 images given as 784 row-major values (last axis).

    `side` = 18 is the paper's `image[5:-5, 5:-5]`; 28 returns the images unchanged. The window must
    sit in the middle, so 28 - `side` has to be even. Works on any dtype (values or pixel names).
    """
    pixels = np.asarray(pixels)
    if pixels.shape[-1] != N_PIXELS:
        raise ValueError(f"expected {N_PIXELS} pixels on the last axis, got shape {pixels.shape}")
    if not 1 <= side <= IMAGE_SIDE or (IMAGE_SIDE - side) % 2:
        raise ValueError(f"crop side {side} is not an even margin inside {IMAGE_SIDE}: use 2, 4, ..., 28")
    start = (IMAGE_SIDE - side) // 2
    images = pixels.reshape(*pixels.shape[:-1], IMAGE_SIDE, IMAGE_SIDE)
    window = images[..., start : start + side, start : start + side]
    return window.reshape(*pixels.shape[:-1], side * side)


def pixel_permutation(seed: int) -> np.ndarray:
    """The fixed pixel permutation of the permuted tasks: position j receives original pixel perm[j]."""
    return np.random.default_rng(seed).permutation(N_PIXELS)


def permute_pixels(pixels: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Reorder the 784 pixels on the last axis: output pixel j is input pixel `permutation[j]`."""
    permutation = np.asarray(permutation)
    if permutation.shape != (N_PIXELS,) or not np.array_equal(np.sort(permutation), np.arange(N_PIXELS)):
        raise ValueError(f"not a permutation of 0..{N_PIXELS - 1}")
    pixels = np.asarray(pixels)
    if pixels.shape[-1] != N_PIXELS:
        raise ValueError(f"expected {N_PIXELS} pixels on the last axis, got shape {pixels.shape}")
    return pixels[..., permutation]


def pixel_names() -> np.ndarray:
    """`px_<row>_<col>` for the 784 pixels of a 28x28 image, row-major."""
    return np.array([f"px_{r}_{c}" for r in range(IMAGE_SIDE) for c in range(IMAGE_SIDE)])


def selected_pixels(crop: int, permutation_seed: int | None) -> np.ndarray:
    """Which of the 784 source pixels become the features, in feature order."""
    positions = np.arange(N_PIXELS)
    if permutation_seed is not None:
        positions = permute_pixels(positions, pixel_permutation(permutation_seed))
    return center_crop(positions, crop)


def load_image_task(
    name: str, openml_id: int, crop: int = PAPER_CROP, permutation_seed: int | None = None
) -> TaskData:
    """The cropped (and, with a seed, permuted) images of OpenML `openml_id`, with the official test split."""
    if not 1 <= crop <= IMAGE_SIDE or (IMAGE_SIDE - crop) % 2:
        raise LiftbenchError(
            f"task {name!r}, parameter 'crop': {crop} is invalid; it must be an even number from 2 to 28 "
            "(the side of the centre window; 28 keeps the whole image)"
        )
    if permutation_seed is not None and permutation_seed < 0:
        raise LiftbenchError(
            f"task {name!r}, parameter 'permutation_seed': {permutation_seed} is invalid; it must be >= 0"
        )
    table = load_openml(openml_id)
    detail = openml_table_detail(table)
    if table.X.shape != (OFFICIAL_ROWS, N_PIXELS):
        raise LiftbenchError(
            f"task {name!r}: {detail} holds {table.X.shape[0]} rows x {table.X.shape[1]} columns, not the "
            f"{OFFICIAL_ROWS} images x {N_PIXELS} pixels ({OFFICIAL_TRAIN_ROWS} training images, then the "
            f"test images) this task splits; delete that folder and run `liftbench data fetch --id {openml_id}`"
        )
    source = selected_pixels(crop, permutation_seed)
    values = table.X.iloc[:, source].to_numpy(dtype=float)
    if np.isnan(values).any() or values.min() < 0 or values.max() > MAX_PIXEL or np.any(values % 1):
        raise LiftbenchError(
            f"task {name!r}: {detail} has pixel values that are not whole numbers in 0..{MAX_PIXEL}; "
            f"check the cache with `liftbench data verify --id {openml_id}`"
        )
    names = pixel_names()[source]
    X = pd.DataFrame(values.astype(np.int64), columns=list(names))
    y, classes = class_codes(table.y.reset_index(drop=True), f"task {name!r} ({detail})")
    layout = f"centre {crop}x{crop} crop"
    if permutation_seed is not None:
        layout = f"pixels permuted with numpy default_rng({permutation_seed}), then {layout}"
    return TaskData(
        name=name,
        kind="classification",
        X=X,
        y=y,
        feature_types=dict.fromkeys(X.columns, "integer"),
        classes=classes,
        source="openml-cache",
        source_detail=f"{detail}; {layout}",
        fixed_split={
            "train": np.arange(OFFICIAL_TRAIN_ROWS),
            "test": np.arange(OFFICIAL_TRAIN_ROWS, OFFICIAL_ROWS),
        },
    )


def _register(name: str, openml_id: int, dataset: str, permuted: bool, citation: str) -> None:
    defaults: dict[str, int] = {"crop": PAPER_CROP}
    description = (
        f"OpenML {openml_id} {dataset}: {OFFICIAL_ROWS} 28x28 images, 10 classes, the centre crop x crop "
        f"pixels as integer features (324 at crop=18); fixed split: the official "
        f"{OFFICIAL_ROWS - OFFICIAL_TRAIN_ROWS} test images"
    )
    if permuted:
        defaults["permutation_seed"] = PAPER_PERMUTATION_SEED
        description += "; pixels scrambled by a fixed seeded permutation before the crop"
    register(
        TaskSpec(
            name=name,
            kind="classification",
            source="openml",
            loader=partial(load_image_task, name, openml_id),
            defaults=defaults,
            description=description,
            openml_id=openml_id,
            target="class",
            class_labels=tuple(str(k) for k in range(10)),
            n_rows=OFFICIAL_ROWS,
            n_features=PAPER_CROP * PAPER_CROP,
            citation=f"{OPENML_CITATION}; {citation}",
            suites=SUITES,
        )
    )


_MNIST_CITATION = (
    "LeCun, Bottou, Bengio and Haffner, Gradient-based learning applied to document recognition, 1998"
)
_FASHION_CITATION = "Xiao, Rasul and Vollgraf, Fashion-MNIST, arXiv:1708.07747, 2017"

_register("mnist", 554, "mnist_784", False, _MNIST_CITATION)
_register("mnist-permuted", 554, "mnist_784", True, _MNIST_CITATION)
_register("fashion-mnist", 40996, "Fashion-MNIST", False, _FASHION_CITATION)
_register("fashion-mnist-permuted", 40996, "Fashion-MNIST", True, _FASHION_CITATION)
