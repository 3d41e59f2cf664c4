from flask import Blueprint
blueprint = Blueprint("models", __name__)
