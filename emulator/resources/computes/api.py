from flask import Blueprint
blueprint = Blueprint("computes", __name__)
