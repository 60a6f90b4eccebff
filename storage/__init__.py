"""Storage layer: SQLAlchemy models, engine setup, migrations, repositories, job queue.

The lowest layer: imports nothing from federation/, node/ or web/.
"""
