"""What every HTTP face shares and what needs a request: access guards, the log-in session,
security headers, the reader's language, template helpers, error pages, and the one way views
turn a service's refusal into a message (``blueprints.web.common``)."""
