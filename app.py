"""`python app.py`: open ./index (built from the bundled sample article if empty) and serve the UI.

Settings come from the environment like the CLI's (KHABAR_INDEX or KHABAR_STORE, KHABAR_HOST,
KHABAR_PORT, KHABAR_LLM_URL).
"""

from __future__ import annotations

import os
import sys

from khabar import config
from khabar.errors import KhabarError


def main() -> int:
    """Build the index from the samples if needed, then serve until interrupted."""
    try:
        settings = config.resolve(env=os.environ)
        from khabar.api import ApiSettings
        from khabar.service import Khabar, choose_model, second_options, store_options
        from khabar.web import serve

        where = settings["index"] if not config.is_milvus(settings["store"]) else settings["store"]
        print(f"khabar: opening {where} (loading the models)…", flush=True)
        service = Khabar.open(
            settings["index"],
            **store_options(settings),
            model=choose_model(settings, fast=True),
            **second_options(settings),
        )
        if settings["llm_url"]:
            from khabar.llm import from_settings

            service.llm = from_settings(settings)
        service.speaker_match = settings["speaker_match"]
        report = service.ensure_samples()
        if report is not None:
            print(f"built {where} from the bundled sample ({report.seconds:.1f}s)")
        serve(
            service,
            host=settings["host"],
            port=settings["port"],
            api=ApiSettings.from_settings(settings),
        )
    except KhabarError as exc:
        print(f"khabar: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
