"""English texts of the app (the R5 toasts live in ``tokensession.messages``)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # the frame (index.html) and the boot screen (web/boot.js has its own copy of "boot.*")
    "app.name": "PyAuth",
    "title": "{view} · PyAuth",
    "nav.label": "Main",
    "nav.home": "Home",
    "nav.playground": "Playground",
    "nav.skip": "Skip to content",
    "lang.switch": "中文",
    "lang.switch.title": "切换到中文",
    "boot.loading": "Loading the Python runtime…",
    "boot.starting": "Starting the app…",
    "boot.rendering": "Rendering…",
    "boot.failed": "The app could not start. Reload the page to try again.",
    "boot.hint": (
        "The first visit downloads about 6 MB on a slow connection, 9 MB on a fast one; "
        "later visits come from the cache."
    ),
    # the same hint on the MicroPython page (serve.runtime_page swaps the key): 0.52 MB measured
    "boot.hint.micropython": "The first visit downloads about 0.5 MB; later visits come from the cache.",
    "boot.progress": "Start-up progress",
    # the error screen
    "error.title": "Something went wrong",
    "error.body": "The app hit an unexpected error. Reloading the page usually fixes it; "
    "the details are in the browser console.",
    "error.reload": "Reload the page",
    # toasts
    "toast.close": "Close",
    # not found
    "notfound.title": "Not found",
    "notfound.heading": "Page not found",
    "notfound.body": "Nothing lives at {path}.",
    "notfound.home": "Go to the home page",
    # home
    "home.title": "Home",
    "home.signed_in_as": "Signed in as {user}.",
    "home.playground": "Open the playground",
    "logout": "Sign out",
    # login
    "login.title": "Sign in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.busy": "Signing in…",
    "login.missing": "Enter your username and password.",
    "login.provider": "Sign in with your identity provider",
    "login.provider.busy": "Going to the provider…",
    "login.provider.hint": "You sign in at {host} and come back here.",
    "login.demo": "Demo account: {user} / {password}",
    # playground
    "playground.title": "Playground",
    "playground.hint": "Each button calls the API through the session client: watch the token refresh "
    "while you are active and the session end when you are idle.",
    "playground.expires_at": "Access token expires at (ms)",
    "playground.expires_in": "Expires in",
    "playground.seconds": "{seconds} s",
    "playground.no_session": "no session",
    "playground.refreshes": "Refreshes so far",
    "playground.cookies": "Cookies seen by the page",
    "playground.no_cookies": "none",
    "playground.calls": "Calls",
    "playground.statuses": "Error statuses",
    "playground.burst": "10 × GET me at once",
    "playground.call_requests": "GET me with requests (sync)",
    "playground.requests_needs_api": "requests needs a real API over HTTP: the demo API runs inside this page",
    "playground.slow": "GET slow ({ms} ms, times out)",
    "playground.requests": "Requests",
    # the session timeline (playground)
    "timeline.title": "Session timeline",
    "timeline.legend": "Shaded: the refresh window · orange line: the idle warning · green marks: refreshes · "
    "blue line: now",
    "timeline.access": "Access token: {left} of {life} left.",
    "timeline.window": "Refresh window: the last {window}.",
    "timeline.window_active": "Refresh window: the last {window}; now inside it, so the next successful request "
    "refreshes.",
    "timeline.warning": "Idle warning: {lead} before expiry.",
    "timeline.refreshes": "Refreshes so far: {count}.",
    "timeline.refresh_token": "Refresh token: {left} left.",
    "timeline.refresh_token_unknown": "Refresh token: its lifetime was not told to this tab.",
    "timeline.none": "No session.",
    "duration.days": "{d} d {h} h",
    "duration.hours": "{h} h {m} min",
    "duration.minutes": "{m} min {s} s",
    "duration.seconds": "{s} s",
    # the idle warning
    "idle.title": "Stay signed in?",
    "idle.body": "Your session ends in {seconds} s because you have been inactive.",
    "idle.stay": "Stay signed in",
    "idle.dismiss": "Dismiss",
}
