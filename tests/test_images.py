"""MNIST-style image tasks: centre crop, pixel permutation, the official test split."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks import images
from tasks.errors import LiftbenchError
from tasks.images import center_crop, permute_pixels, pixel_names, pixel_permutation, selected_pixels
from tasks.registry import get_spec, load_task
from tasks.splits import make_split
from tests.openml_fixture import write_openml_cache

N_IMAGES = 20
N_TRAIN = 15


def test_center_crop_is_the_papers_5_to_minus_5_window() -> None:
    image = np.arange(784)
    assert np.array_equal(center_crop(image, 18), image.reshape(28, 28)[5:-5, 5:-5].ravel())
    assert np.array_equal(center_crop(image, 28), image)
    assert np.array_equal(center_crop(image, 2), [13 * 28 + 13, 13 * 28 + 14, 14 * 28 + 13, 14 * 28 + 14])
    batch = np.stack([image, image + 1000])
    assert center_crop(batch, 18).shape == (2, 324)
    assert np.array_equal(center_crop(batch, 18)[1], center_crop(image, 18) + 1000)


@pytest.mark.parametrize("side", [0, 17, 30])
def test_center_crop_refuses_an_off_centre_window(side: int) -> None:
    with pytest.raises(ValueError, match="even margin"):
        center_crop(np.zeros(784), side)


def test_center_crop_needs_784_pixels() -> None:
    with pytest.raises(ValueError, match="784 pixels"):
        center_crop(np.zeros(783), 18)


def test_permutation_is_seeded_and_moves_pixels_where_it_says() -> None:
    perm = pixel_permutation(3247)
    assert np.array_equal(perm, pixel_permutation(3247))
    assert not np.array_equal(perm, pixel_permutation(3248))
    assert np.array_equal(np.sort(perm), np.arange(784))
    image = np.random.default_rng(0).integers(0, 256, size=784)
    moved = permute_pixels(image, perm)
    assert all(moved[j] == image[perm[j]] for j in range(784))
    with pytest.raises(ValueError, match="not a permutation"):
        permute_pixels(image, np.zeros(784, dtype=int))


def test_permuted_features_are_a_random_subset_of_the_whole_image() -> None:
    plain, scrambled = selected_pixels(18, None), selected_pixels(18, 3247)
    assert len(set(scrambled)) == 324
    assert np.array_equal(scrambled, center_crop(pixel_permutation(3247), 18))
    assert set(scrambled) != set(plain)
    assert (scrambled // 28 < 5).any()  # pixels from outside the centre window come in


def _pixels() -> np.ndarray:
    """Image i has value (k + 7 i) mod 256 at row-major pixel k, so every pixel's place can be read back."""
    return (np.arange(784)[None, :] + 7 * np.arange(N_IMAGES)[:, None]) % 256


def _write_images(did: int, n_images: int = N_IMAGES) -> None:
    frame = pd.DataFrame(_pixels()[:n_images], columns=[f"pixel{k + 1}" for k in range(784)])
    labels = [str(i % 10) for i in range(n_images)]
    frame["class"] = pd.Categorical(labels, categories=[str(k) for k in range(10)])
    write_openml_cache(Path(os.environ["LIFTBENCH_OPENML_CACHE"]), did, frame, "class")


@pytest.fixture
def small_official_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "OFFICIAL_ROWS", N_IMAGES)
    monkeypatch.setattr(images, "OFFICIAL_TRAIN_ROWS", N_TRAIN)


def _values_match_names(X: pd.DataFrame) -> bool:
    for name in X.columns:
        _, r, c = name.split("_")
        expected = (int(r) * 28 + int(c) + 7 * np.arange(len(X))) % 256
        if not np.array_equal(X[name].to_numpy(), expected):
            return False
    return True


@pytest.mark.usefixtures("small_official_split")
@pytest.mark.filterwarnings("ignore::tasks.splits.StratificationWarning")  # 15 training rows, 10 classes
def test_mnist_task_is_the_cropped_images_with_the_official_test_set() -> None:
    _write_images(554)
    data = load_task("mnist")
    assert data.X.shape == (N_IMAGES, 324)
    assert np.array_equal(data.X.to_numpy(), center_crop(_pixels(), 18))
    assert list(data.X.columns) == list(center_crop(pixel_names(), 18))
    assert data.X.columns[0] == "px_5_5" and data.X.columns[-1] == "px_22_22"
    assert _values_match_names(data.X)
    assert set(data.feature_types.values()) == {"integer"} and (data.X.dtypes == np.int64).all()
    assert data.classes == tuple(str(k) for k in range(10))
    assert data.y.tolist() == [i % 10 for i in range(N_IMAGES)]
    assert np.array_equal(data.fixed_split["train"], np.arange(N_TRAIN))
    assert np.array_equal(data.fixed_split["test"], np.arange(N_TRAIN, N_IMAGES))
    assert data.source == "openml-cache" and "centre 18x18 crop" in data.source_detail

    split = make_split(data, seed=1)
    assert np.array_equal(np.sort(split.test), np.arange(N_TRAIN, N_IMAGES))
    assert set(split.train) | set(split.val) == set(range(N_TRAIN))


@pytest.mark.usefixtures("small_official_split")
def test_permuted_task_scrambles_before_cropping() -> None:
    _write_images(40996)
    data = load_task("fashion-mnist-permuted")
    perm = pixel_permutation(3247)
    assert np.array_equal(data.X.to_numpy(), center_crop(permute_pixels(_pixels(), perm), 18))
    assert _values_match_names(data.X)
    assert "default_rng(3247)" in data.source_detail
    other = load_task("fashion-mnist-permuted", permutation_seed=7)
    assert not np.array_equal(other.X.to_numpy(), data.X.to_numpy())
    assert _values_match_names(other.X)


@pytest.mark.usefixtures("small_official_split")
def test_crop_parameter() -> None:
    _write_images(554)
    assert np.array_equal(load_task("mnist", crop="28").X.to_numpy(), _pixels())
    with pytest.raises(LiftbenchError, match="'crop': 17 is invalid"):
        load_task("mnist", crop=17)
    with pytest.raises(LiftbenchError, match="'permutation_seed': -1 is invalid"):
        load_task("mnist-permuted", permutation_seed=-1)


def test_a_cached_dataset_of_the_wrong_size_is_refused() -> None:
    _write_images(554)
    with pytest.raises(LiftbenchError, match="not the 70000 images x 784 pixels"):
        load_task("mnist")


@pytest.mark.usefixtures("small_official_split")
def test_pixels_outside_0_to_255_are_refused() -> None:
    frame = pd.DataFrame(_pixels() * 2, columns=[f"pixel{k + 1}" for k in range(784)])
    frame["class"] = pd.Categorical([str(i % 10) for i in range(N_IMAGES)])
    write_openml_cache(Path(os.environ["LIFTBENCH_OPENML_CACHE"]), 554, frame, "class")
    with pytest.raises(LiftbenchError, match="whole numbers in 0..255"):
        load_task("mnist")


def test_image_specs() -> None:
    for name, did in [("mnist", 554), ("mnist-permuted", 554), ("fashion-mnist", 40996)]:
        spec = get_spec(name)
        assert (spec.openml_id, spec.suites, spec.n_classes) == (did, ("lift-extra", "images"), 10)
    assert get_spec("mnist").defaults == {"crop": 18}
    assert get_spec("mnist-permuted").defaults == {"crop": 18, "permutation_seed": 3247}
