"""The sandbox blueprint every fake API and page registers its routes on."""

from __future__ import annotations

from flask import Blueprint

from ..config import SANDBOX_PREFIX

sandbox = Blueprint("sandbox", __name__, url_prefix=SANDBOX_PREFIX, template_folder="templates")
