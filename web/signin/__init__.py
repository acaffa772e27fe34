"""Sign in with GitHub (django-allauth's GitHub provider) and who the viewer is.

allauth runs the OAuth web flow (state and PKCE); `adapter.py` hooks the end of it: the
same login service as `POST /users/<u>/login` runs with the person's token, and the
session remembers which GitHub login signed in (`viewer_login`).
"""
