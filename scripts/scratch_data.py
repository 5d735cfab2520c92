"""A scratch copy of perfcast's data/ folder with another roofline.json, for fitting scripts that
ask the C++ predictor (`perfcast predict`, PERFCAST_DATA_DIR=the copy) what a candidate constant gives."""

import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scratch_data_dir(tmp, roofline):
    """Links every entry of data/ into tmp, except calibration/roofline.json, written from `roofline`."""
    data = os.path.join(REPO, "data")
    os.makedirs(os.path.join(tmp, "calibration"), exist_ok=True)
    for entry in os.listdir(data):
        if entry != "calibration" and not os.path.exists(os.path.join(tmp, entry)):
            os.symlink(os.path.join(data, entry), os.path.join(tmp, entry))
    for entry in os.listdir(os.path.join(data, "calibration")):
        if entry != "roofline.json" and not os.path.exists(os.path.join(tmp, "calibration", entry)):
            os.symlink(os.path.join(data, "calibration", entry), os.path.join(tmp, "calibration", entry))
    with open(os.path.join(tmp, "calibration", "roofline.json"), "w") as f:
        json.dump(roofline, f)
    return tmp
