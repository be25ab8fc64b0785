"""`zeta-payne validate --observation-set FIELD=VALUE`: one effect of the realistic
observations changed or taken out, to measure what it costs."""

import argparse

import pytest

from zeta_payne.cli import main
from zeta_payne.cli.validate import _observation, observation_setting
from zeta_payne.exceptions import ZetaPayneError
from zeta_payne.validation.observe import ObservationModel


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sky=false", ("sky", False)),
        ("telluric = True", ("telluric", True)),
        ("ebv_range=0,0.5", ("ebv_range", (0.0, 0.5))),
        ("bad_columns=0", ("bad_columns", 0)),
        ("sky_shift_error=0", ("sky_shift_error", 0.0)),
        ("calibration_error=default", ("calibration_error", None)),
        ("report_lsf=false", ("report_lsf", False)),
    ],
)
def test_a_setting_is_converted_to_its_fields_type(text, expected):
    name, value = observation_setting(text)
    assert (name, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("nosuch=1", "FIELD one of"),
        ("sky", "FIELD one of"),
        ("sky=2", "true or false"),
        ("lsf_scatter=default", "no instrument default"),
        ("ebv_range=1", "ebv_range=1"),
        ("bad_columns=two", "bad_columns=two"),
    ],
)
def test_a_bad_setting_is_a_usage_error(text, why, capsys):
    with pytest.raises(argparse.ArgumentTypeError, match=why):
        observation_setting(text)
    assert main(["validate", "--bundle", "x", "--observation-set", text]) == 2
    assert "--observation-set" in capsys.readouterr().err


def _args(**kw):
    base = dict(observations=None, generator="synthesis", observation_set=[], lsf_wings=None)
    return argparse.Namespace(**(base | kw))


def test_the_settings_build_the_observation_model_and_keep_the_rest():
    model = _observation(_args(observation_set=[("sky", False), ("ebv_range", (0.0, 0.0))],
                               lsf_wings=(0.1, 3.0)))
    assert model == ObservationModel(sky=False, ebv_range=(0.0, 0.0), lsf_wing_fraction=0.1,
                                     lsf_wing_width=3.0)
    assert _observation(_args()) == ObservationModel()


def test_settings_with_idealised_observations_are_refused():
    assert _observation(_args(observations="ideal")) is None
    with pytest.raises(ZetaPayneError, match="realistic observations only"):
        _observation(_args(observations="ideal", observation_set=[("sky", False)]))
