"""The dashboard's routes (pages of ``dashboard``, changes of ``consent_actions``), the language switch, /static."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.portal import consent_actions
from gateway.portal.dashboard import dashboard_page, detail_page, receipt_download
from gateway.portal.language import choose_language

STATIC = Path(__file__).resolve().parent / "static"


def routes() -> list[BaseRoute]:
    item = "/dashboard/consents/{consent_id}"
    return [
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/language", choose_language, methods=["GET"]),
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Route(item, detail_page, methods=["GET"]),
        Route(item + "/receipt", receipt_download, methods=["GET"]),
        Route(item + "/revoke", consent_actions.revoke_confirmation, methods=["GET"]),
        Route(item + "/revoke", consent_actions.action(consent_actions.revoke, "revoked"), methods=["POST"]),
        Route(item + "/pause", consent_actions.action(consent_actions.pause, "paused"), methods=["POST"]),
        Route(item + "/resume", consent_actions.action(consent_actions.resume, "resumed"), methods=["POST"]),
        Route(item + "/amend", consent_actions.action(consent_actions.amend, "amended"), methods=["POST"]),
    ]
