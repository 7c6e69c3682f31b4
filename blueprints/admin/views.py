"""Views of the administration pages; every action goes through a service and is audited."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _

import search_index
from blueprints.admin import audit_labels
from blueprints.admin.forms import (DeleteUserForm, GlossaryForm, InvitationForm, ProjectAssignForm, ProjectForm,
                                    RoleForm, SensitiveWordForm, TermForm, role_choices)
from blueprints.web.access import requires
from blueprints.web.common import me, page_arg, personal_data_download
from blueprints.web.forms import ActionForm, flash_unseen_errors
from blueprints.web.refusals import attempt, submitted
from blueprints.web.templating import language_name
from hub.extensions import db
from hub.models import Invitation, Project, Role, SensitiveWord, User, UserStatus
from hub.permissions import may_grant
from hub.services import accounts, audit, leaving, operations, vocabulary
from hub.services import notes as note_service
from hub.services import projects as project_service
from hub.text_safety import isolated

bp = Blueprint("admin", __name__, template_folder="templates")


def _project_choices() -> list[tuple[str, str]]:
    locale = str(get_locale())
    return [("", _("No project"))] + [(str(p.id), isolated(p.name(locale))) for p in project_service.all_projects()]


def _project_from(value: str) -> Project | None:
    return db.session.get(Project, int(value)) if value else None


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.get("/users")
@requires("manage_users")
def users():
    """List and search accounts."""
    text = request.args.get("q", "")  # whole: a search cut short would find people the text does not name
    role = request.args.get("role") if request.args.get("role") in {r.value for r in Role} else None
    status = request.args.get("status") if request.args.get("status") in {s.value for s in UserStatus} else None
    page = accounts.search_users(text, role=role, status=status, page=page_arg())
    return render_template("admin/users.html", page=page, q=text, role=role, status=status,
                           roles=list(Role), statuses=list(UserStatus))


@bp.get("/users/<int:user_id>")
@requires("manage_users")
def user(user_id: int):
    """Show one account with the actions an admin may take."""
    return _user_page(_user_or_404(user_id))


def _user_page(target: User, *, role_form: RoleForm | None = None,
               project_form: ProjectAssignForm | None = None) -> str:
    """Render a person's page; a form given is one sent back with its errors, the others show the account."""
    if role_form is None:
        role_form = RoleForm(formdata=None, role=target.role)
        role_form.role.choices = role_choices()
    if project_form is None:
        project_form = ProjectAssignForm(formdata=None, project=str(target.project_id or ""))
        project_form.project.choices = _project_choices()
    return render_template("admin/user.html", target=target, role_form=role_form,
                           project_form=project_form, action_form=ActionForm(), delete_form=DeleteUserForm())


@bp.post("/users/<int:user_id>/role")
@requires("manage_users")
def user_role(user_id: int):
    """Change a user's role."""
    target = _user_or_404(user_id)
    form = RoleForm()
    form.role.choices = role_choices()
    return _change_user(target, form, lambda: accounts.set_role(target, Role(form.role.data), by=me()),
                        _("Role changed."), "role_form")


@bp.post("/users/<int:user_id>/status/<any(active, disabled):status>")
@requires("manage_users")
def user_status(user_id: int, status: str):
    """Approve, disable or re-enable an account."""
    target = _user_or_404(user_id)
    if ActionForm().validate_on_submit():
        with attempt() as changed:
            accounts.set_status(target, UserStatus(status), by=me())
        if changed:
            flash(_("Account status changed."), "info")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/project")
@requires("manage_users")
def user_project(user_id: int):
    """Move a user into a project."""
    target = _user_or_404(user_id)
    form = ProjectAssignForm()
    form.project.choices = _project_choices()
    return _change_user(target, form, lambda: accounts.set_project(target, _project_from(form.project.data), by=me()),
                        _("Project saved."), "project_form")


def _change_user(target: User, form, change, success: str, name: str):
    """Apply one form of a person's page; refused, the page comes back with it (as ``name``) and what is wrong."""
    if submitted(form, change):
        flash(success, "info")
        return redirect(url_for("admin.user", user_id=target.id))
    flash_unseen_errors(form)
    return _user_page(target, **{name: form})


@bp.post("/users/<int:user_id>/review/<any(skip, require):choice>")
@requires("manage_users")
def user_review(user_id: int, choice: str):
    """Let a trusted author's edits of published notes skip review, or require review again."""
    target = _user_or_404(user_id)
    if ActionForm().validate_on_submit():
        with attempt() as changed:
            accounts.set_edits_skip_review(target, choice == "skip", by=me())
        if changed:
            flash(_("Saved."), "info")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.get("/users/<int:user_id>/data.json")
@requires("manage_users")
def user_data(user_id: int):
    """Download a person's data as JSON (for them, on their request)."""
    target = _user_or_404(user_id)
    audit.record("user.export", actor=me(), target=target)
    db.session.commit()
    return personal_data_download(leaving.export(target, by=me()), f"user-{target.id}-data")


@bp.post("/users/<int:user_id>/delete")
@requires("manage_users")
def user_delete(user_id: int):
    """Delete a person's account, keeping or deleting their published notes as chosen."""
    target = _user_or_404(user_id)
    form = DeleteUserForm()
    if not form.validate_on_submit():
        flash(_("Choose what happens to what this person published."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    if target.id == me().id:
        flash(_("Delete your own account from your account page."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    with attempt() as deleted:
        leaving.delete_account(target, by=me(), keep_published=form.what.data == "keep")
    if not deleted:
        return redirect(url_for("admin.user", user_id=user_id))
    flash(_("The account is deleted."), "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset-link")
@requires("manage_users")
def user_reset_link(user_id: int):
    """Make a one-time password-reset link to hand to the person."""
    target = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = accounts.admin_reset_link_token(target, by=me())
    return render_template("admin/reset_link.html", target=target,
                           link=url_for("auth.reset", token=token, _external=True))


@bp.route("/invitations", methods=["GET", "POST"])
@requires("invite")
def invitations():
    """List invitations and create new ones."""
    form = InvitationForm()
    form.role.choices = role_choices([r for r in Role if may_grant(me(), r)])
    form.project.choices = _project_choices()
    form.language.choices = [(code, language_name(code)) for code in current_app.config["LOCALES"]]
    if request.method == "GET":
        form.language.data = str(get_locale())
    link = None
    if form.validate_on_submit():
        project = _project_from(form.project.data)
        with attempt(form=form) as created:
            _invitation, token = accounts.create_invitation(
                by=me(), role=Role(form.role.data), project=project, days=form.days.data, note=form.note.data or "",
                email=form.email.data or None, locale=form.language.data)
        if created:
            link = url_for("auth.accept_invitation", token=token, _external=True)
            if form.email.data:
                flash(_("The link is on its way to the address you gave; you can also send it yourself."), "info")
    query = sa.select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())
    if not may_grant(me(), Role.ADMIN):
        query = query.where(Invitation.created_by_id == me().id)
    page = db.paginate(query, page=page_arg(), per_page=30, error_out=False)
    return render_template("admin/invitations.html", form=form, link=link, page=page, action_form=ActionForm(),
                           states={inv.id: accounts.invitation_state(inv) for inv in page.items})


@bp.post("/invitations/<int:invitation_id>/revoke")
@requires("invite")
def invitation_revoke(invitation_id: int):
    """Withdraw an open invitation."""
    invitation = db.session.get(Invitation, invitation_id) or abort(404)
    if invitation.created_by_id != me().id and not may_grant(me(), Role.ADMIN):
        abort(403)
    if ActionForm().validate_on_submit():
        with attempt() as revoked:
            accounts.revoke_invitation(invitation, by=me())
        if revoked:
            flash(_("Invitation withdrawn."), "info")
    return redirect(url_for("admin.invitations"))


@bp.route("/projects/new", methods=["GET", "POST"])
@requires("manage_projects")
def project_new():
    """Create a project."""
    return _project_form(None)


@bp.route("/projects/<slug>/edit", methods=["GET", "POST"])
@requires("manage_projects")
def project_edit(slug: str):
    """Edit a project."""
    return _project_form(project_service.by_slug(slug) or abort(404))


def _project_form(project):
    form = ProjectForm(obj=project)
    if form.validate_on_submit():
        data = project_service.ProjectData(**{name: getattr(form, name).data or "" for name in
                                              project_service.ProjectData.__dataclass_fields__})
        with attempt(form=form) as done:
            saved = project_service.save(data, by=me(), project=project)
        if done:
            flash(_("Project saved."), "info")
            return redirect(url_for("main.project", slug=saved.slug))
    return render_template("admin/project_form.html", form=form, project=project)


@bp.get("/audit")
@requires("view_audit")
def audit_log():
    """Show the audit log, newest first."""
    action = request.args.get("action", "")[:60] or None
    page = audit.recent(action=action, page=page_arg())
    rows = [audit_labels.describe(entry, viewer=me(), locale=str(get_locale())) for entry in page.items]
    return render_template("admin/audit.html", page=page, rows=rows, action=action,
                           action_name=audit_labels.action_label(action) if action else None)


@bp.route("/vocabulary", methods=["GET", "POST"])
@requires("manage_projects")
def vocabulary_page():
    """Show the topics and populations and add new ones."""
    form = TermForm()
    if form.validate_on_submit():
        with attempt(form=form) as added:
            vocabulary.add_term(kind=form.kind.data, slug=form.slug.data, name_zh=form.name_zh.data,
                                name_en=form.name_en.data, by=me())
        if added:
            # i18n: flash after an admin adds a term, glossary synonyms or a sensitive word
            flash(_("Added."), "info")
            return redirect(url_for("admin.vocabulary_page"))
    return _vocabulary(form=form)


def _vocabulary(*, form: TermForm | None = None, glossary_form: GlossaryForm | None = None) -> str:
    """Render the vocabulary page with its two forms (empty unless one is sent back with its errors)."""
    return render_template("admin/vocabulary.html", form=form or TermForm(formdata=None),
                           topics=note_service.terms("topic"), populations=note_service.terms("population"),
                           glossary_form=glossary_form or GlossaryForm(formdata=None),
                           glossary=vocabulary.glossary_entries())


@bp.post("/glossary")
@requires("manage_projects")
def glossary_add():
    """Add synonyms to the search glossary; a refused entry comes back with what is wrong."""
    form = GlossaryForm()
    if submitted(form, lambda: vocabulary.add_glossary_entry(
            concept=form.concept.data, terms_zh=form.terms_zh.data or "", terms_en=form.terms_en.data or "", by=me())):
        # i18n: flash after an admin adds a term, glossary synonyms or a sensitive word
        flash(_("Added."), "info")
        return redirect(url_for("admin.vocabulary_page"))
    return _vocabulary(glossary_form=form)


@bp.route("/sensitive-words", methods=["GET", "POST"])
@requires("manage_users")
def sensitive_words():
    """List and add the words the privacy check warns about."""
    form = SensitiveWordForm()
    if form.validate_on_submit():
        with attempt(form=form) as added:
            vocabulary.add_sensitive_word(form.word.data, by=me())
        if added:
            # i18n: flash after an admin adds a term, glossary synonyms or a sensitive word
            flash(_("Added."), "info")
            return redirect(url_for("admin.sensitive_words"))
    return render_template("admin/sensitive_words.html", form=form, words=vocabulary.sensitive_word_list(),
                           action_form=ActionForm())


@bp.post("/sensitive-words/<int:word_id>/delete")
@requires("manage_users")
def sensitive_word_delete(word_id: int):
    """Take a word off the list."""
    item = db.session.get(SensitiveWord, word_id) or abort(404)
    if ActionForm().validate_on_submit():
        vocabulary.remove_sensitive_word(item, by=me())
        # i18n: flash after an admin takes a word off the privacy check\'s list
        flash(_("Removed."), "info")
    return redirect(url_for("admin.sensitive_words"))


@bp.get("/system")
@requires("manage_users")
def system():
    """Show whether the worker runs and keeps up, the search index and the deliveries waiting."""
    found = operations.figures()
    return render_template("admin/system.html", figures=found, index=search_index.health(),
                           lag=operations.worker_lag(found.worker))
