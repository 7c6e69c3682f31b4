import contextlib
import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Keep the hub's own loggers working when migrations run inside the app (flask hub init, tests).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection, foreign_keys_off(connection):
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            # one transaction for the whole upgrade on SQLite too (see begin_sqlite_transaction)
            transactional_ddl=True,
            **conf_args
        )

        with context.begin_transaction():
            begin_sqlite_transaction(connection)
            context.run_migrations()


def begin_sqlite_transaction(connection):
    """Run SQLite's migrations in one transaction, as PostgreSQL's are, so a killed upgrade leaves the old schema.

    pysqlite begins a transaction only before an INSERT, UPDATE or DELETE: a batch operation's
    CREATE TABLE _alembic_tmp_... was committed on its own, and an upgrade killed after it left
    that table behind, on which every later `flask hub init` failed ("already exists"). SQLite's
    DDL is transactional once a transaction is open; IMMEDIATE takes the write lock up front.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def foreign_keys_off(connection):
    """Leave SQLite's foreign keys unchecked while migrations run, as SQLite's ALTER TABLE procedure says.

    Batch operations copy a table and drop the original: with foreign keys on, the drop would
    delete the rows that refer to it (ON DELETE CASCADE), a note's comments with the note table.
    The pragma applies outside transactions only, hence before the migration's transaction.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.commit()  # else Alembic would take this for the caller's transaction and leave it uncommitted
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")  # the pooled connection as hub.database set it
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
