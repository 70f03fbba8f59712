"""The host application's extensions, created once and bound in ``create_app``."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from tiergate import TierGate

db = SQLAlchemy()
migrate = Migrate()
login_manager = LoginManager()
tiergate = TierGate()
