"""The host application's own pages: home, log-in, a guarded export and a token API."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from tiergate.entitlements.decorators import require_permission

from .extensions import db
from .models import User
from .tokens import read_token

main = Blueprint("main", __name__)


@main.get("/")
def index():
    return render_template("index.html")


@main.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None and user.check_password(request.form.get("password", "")):
            login_user(user)
            target = request.args.get("next", "")
            # Only local paths: never an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("main.index")
            return redirect(target)
        error = "Unknown e-mail address or wrong password."
    return render_template("login.html", error=error), 401 if error else 200


@main.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("main.index"))


@main.get("/reports/export")
@require_permission("reports.export")
def export_reports():
    rows = "report,value\nsignups,42\n"
    return rows, 200, {"Content-Type": "text/csv; charset=utf-8"}


@main.get("/api/me")
def api_me():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    claims = read_token(token.strip()) if scheme.lower() == "bearer" else None
    user = db.session.get(User, int(claims["sub"])) if claims else None
    if user is None:
        return jsonify(error="invalid_token"), 401
    return jsonify(id=user.id, email=user.email, is_staff=user.is_staff)
