import numpy as np
import pytest

from molssl.data.task_type import MAX_DETECTED_CLASSES, detect_task_type

NAN = np.nan


def test_binary_multiclass_regression_and_the_reason():
    binary = detect_task_type(np.array([[0, 1], [1, NAN], [0, 0]]), ["a", "b"])
    assert (binary.task_type, binary.detected, binary.num_classes) == ("classification", True, None)
    multi = detect_task_type(np.array([0, 1, 2, 2, NAN]), ["cls"])
    assert multi.task_type == "multiclass" and multi.num_classes == 3
    assert "counts [1, 1, 2]" in multi.reason and "regression" in multi.reason
    fractional = detect_task_type(np.array([0.5, 1, 2]), ["logS"])
    assert fractional.task_type == "regression" and "row 0, column 'logS': 0.5" in fractional.reason
    negative = detect_task_type(np.array([0, -1, 2]), ["y"])
    assert negative.task_type == "regression" and "-1" in negative.reason
    many = detect_task_type(np.arange(MAX_DETECTED_CLASSES + 1, dtype=float), ["n"])
    assert many.task_type == "regression" and "more than" in many.reason
    gaps = detect_task_type(np.array([0.0, 2.0, 2.0]), ["y"])
    assert gaps.task_type == "regression" and "only 2 distinct" in gaps.reason
    assert multi.describe().startswith("multiclass (detected: every observed label is an integer 0..2")


def test_declared_types_are_checked_against_the_labels():
    labels = np.array([[0.0], [2.0], [1.0]])
    assert detect_task_type(labels, ["y"], "regression").task_type == "regression"
    declared = detect_task_type(np.array([[0.0], [1.0]]), ["y"], "multiclass")
    assert declared.num_classes == 2 and not declared.detected
    with pytest.raises(ValueError, match=r"f.csv: .*row 1, column 'y': 2.*multiclass"):
        detect_task_type(labels, ["y"], "classification", source="f.csv")
    with pytest.raises(ValueError, match=r"row 1, column 'y': 1.5"):
        detect_task_type(np.array([[0.0], [1.5]]), ["y"], "multiclass")
    with pytest.raises(ValueError, match="every label is missing"):
        detect_task_type(np.array([[NAN]]), ["y"])
    with pytest.raises(ValueError, match="task_type must be one of"):
        detect_task_type(labels, ["y"], "ordinal")


def test_the_reason_says_how_to_declare_the_other_type_on_the_command_line_and_in_python():
    multi = detect_task_type(np.array([0, 1, 2, 2]), ["cls"])
    assert "declare --task-type regression (Python: task_type='regression')" in multi.reason
    gaps = detect_task_type(np.array([0.0, 2.0, 2.0]), ["y"])  # integers, read as measurements: say how to mean classes
    assert "declare --task-type multiclass (Python: task_type='multiclass')" in gaps.reason
    measured = detect_task_type(np.array([0.5, 1, 2]), ["logS"])  # decimals are measurements: no hint to add noise
    assert measured.reason == "a label is not a non-negative integer (row 0, column 'logS': 0.5)"
