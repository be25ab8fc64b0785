"""The ASTRA/stand-in switch: with an importable ``astra`` its names are used."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from zeta_payne.astra import compat

#: A fake ASTRA with dev's module layout (re-exporting the stand-in), without a classifier.
FAKE_ASTRA = {
    "astra/__init__.py": "from zeta_payne.astra.standin import task, __version__\n",
    "astra/fields.py": "from zeta_payne.astra.standin.fields import BitField\n",
    "astra/utils.py": "from zeta_payne.astra.standin.version import *\n",
    "astra/models/__init__.py": "",
    "astra/models/base.py": "from zeta_payne.astra.standin.base import BaseModel\n",
    "astra/models/pipeline.py": "from zeta_payne.astra.standin.pipeline import PipelineOutputModel\n",
    "astra/models/source.py": "from zeta_payne.astra.standin.source import Source\n",
    "astra/models/spectrum.py": "from zeta_payne.astra.standin.spectrum import Spectrum\n",
    "astra/models/boss.py": "from zeta_payne.astra.standin.boss import BossVisitSpectrum\n",
    "astra/models/mwm.py": "from zeta_payne.astra.standin.mwm import *\n",
    "astra/models/apogee.py": "from zeta_payne.astra.standin.apogee import *\n",
}


@pytest.mark.skipif(compat.HAVE_ASTRA, reason="real ASTRA is importable: tests the stand-in choice")
def test_standin_by_default_here():
    assert compat.HAVE_ASTRA is False
    assert compat.astra_version == "0.8.0"
    assert compat.current_v_astra() == 8000


def test_astra_is_used_when_importable(tmp_path):
    for name, text in FAKE_ASTRA.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    script = textwrap.dedent(
        """
        from zeta_payne.astra import compat
        from zeta_payne.astra.model import ZetaPayne
        import astra.models.pipeline
        assert compat.HAVE_ASTRA
        assert issubclass(ZetaPayne, astra.models.pipeline.PipelineOutputModel)
        assert compat.SpectrumClassification.__name__ == "SpectrumClassification"
        assert compat.SpectrumClassification._meta.table_name == "spectrum_classification"
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env["ZETA_PAYNE_ASTRA"] = "astra"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.skipif(not compat.HAVE_ASTRA, reason="real ASTRA (sdss-astra dev) is not importable here")
def test_real_astra_names_are_astras():
    import astra.models.mwm
    import astra.models.pipeline

    import astra

    assert compat.astra_version == astra.__version__
    assert compat.BossCombinedSpectrum is astra.models.mwm.BossCombinedSpectrum
    assert compat.PipelineOutputModel is astra.models.pipeline.PipelineOutputModel
    assert compat.task is astra.task
    # ASTRA dev has no classifier table: the plugin's own stands in, and is created by it
    from zeta_payne.astra.database import own_models

    assert compat.CLASSIFIER_IS_OURS and compat.SpectrumClassification in own_models()
    assert compat.Source not in own_models()
