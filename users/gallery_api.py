"""The repo gallery API: `GET|POST|DELETE|PATCH /users/<u>/repos/<owner>/<repo>/gallery`.

A gallery seen from one Gazer user's profile, so it lives with the users: the user must
exist, its own token looks a new repo up on GitHub, and `link=true` links the repo to
it. One view class serves the four methods because they share one URL (DRF dispatches
by method); each method validates its input with its own nested serializer and calls
one service in `repos.gallery`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import BadRequest
from config.schema import error_response
from repos import gallery
from repos.selectors import gallery_images, repo_get, repo_name_validate
from repos.serializers import (
    MAX_ITEMS,
    BoundedListField,
    DedupeField,
    GalleryImageIn,
    GalleryImageOut,
    HttpUrlField,
    TakenAtField,
    gallery_input_validate,
)
from users.models import GitHubUser
from users.selectors import user_get, username_validate
from users.tokens import token_decrypt


class _Context:
    """The validated path: user (must exist in Gazer) and the repository's full name."""

    def __init__(self, username: str, owner: str, repo: str) -> None:
        username_validate(login=username)
        self.full_name = repo_name_validate(owner=owner, name=repo)
        self.user: GitHubUser = user_get(login=username)


# --- schema helpers ----------------------------------------------------------------------

AUTH_ERRORS = {
    401: error_response("API_KEY is set and the Authorization header is missing (`unauthorized`)."),
    403: error_response("Wrong API key (`forbidden`)."),
}
PATH_ERRORS = {
    400: error_response(
        "Bad input: `invalid_username`, `invalid_repo_name`, `malformed_json`, "
        "`invalid_body`, `invalid_url`, `missing_url`, `too_many` (more than 100 items), "
        "`invalid_dedupe`, `invalid_taken_at`, `no_images`, `no_changes`, `invalid_input`."
    ),
}


class RepoGalleryApi(APIView):
    """A repository's gallery, as seen from one Gazer user's profile."""

    throttle_scope = "write"

    class GalleryAddOneIn(GalleryImageIn):
        dedupe = DedupeField(required=False, default="url")
        link = serializers.BooleanField(
            required=False, default=False, help_text="Also link the repo to the user."
        )

    class GalleryAddManyIn(serializers.Serializer):
        images = BoundedListField(child=GalleryImageIn(), max_length=MAX_ITEMS, allow_empty=False)
        dedupe = DedupeField(required=False, default="url")
        link = serializers.BooleanField(
            required=False, default=False, help_text="Also link the repo to the user."
        )

    class GalleryAddOut(serializers.Serializer):
        ok = serializers.BooleanField(default=True)
        repo_id = serializers.IntegerField()
        added = serializers.IntegerField()
        skipped = serializers.IntegerField()
        replaced = serializers.IntegerField(help_text="Only with dedupe=false.")
        gallery_count = serializers.IntegerField()
        linked = serializers.BooleanField(
            required=False, help_text="With link=true: whether a new link was made."
        )

    class GalleryRemoveIn(serializers.Serializer):
        urls = BoundedListField(child=HttpUrlField(), max_length=MAX_ITEMS, allow_empty=False)

    class GalleryRemoveBodyIn(serializers.Serializer):
        urls = serializers.ListField(child=serializers.URLField(), required=False)
        url = serializers.URLField(required=False)

    class GalleryRemoveOut(serializers.Serializer):
        ok = serializers.BooleanField(default=True)
        removed = serializers.IntegerField()
        gallery_count = serializers.IntegerField()

    class GalleryUpdateIn(serializers.Serializer):
        url = HttpUrlField(help_text="Which image to update.")
        alt = serializers.CharField(max_length=500, allow_blank=True, required=False)
        original_url = serializers.CharField(max_length=2000, allow_blank=True, required=False)
        title = serializers.CharField(max_length=500, allow_blank=True, required=False)
        caption = serializers.CharField(max_length=5000, allow_blank=True, required=False)
        is_highlight = serializers.BooleanField(required=False)
        taken_at = TakenAtField(required=False, allow_null=True)

    class GalleryUpdateOut(serializers.Serializer):
        ok = serializers.BooleanField(default=True)
        updated = serializers.BooleanField(default=True)
        image = GalleryImageOut()

    class GalleryListOut(serializers.Serializer):
        ok = serializers.BooleanField(default=True)
        gallery = GalleryImageOut(many=True)

    @extend_schema(
        operation_id="repo_gallery_list",
        tags=["gallery"],
        summary="List a repository's gallery",
        responses={
            200: GalleryListOut,
            **PATH_ERRORS,
            404: error_response("`user_not_found` or `repo_not_found` (Gazer has no such repo)."),
        },
    )
    def get(self, request, username: str, owner: str, repo: str):
        ctx = _Context(username, owner, repo)
        target = repo_get(full_name=ctx.full_name)
        return Response(self.GalleryListOut({"gallery": gallery_images(repo=target)}).data)

    @extend_schema(
        operation_id="repo_gallery_add",
        tags=["gallery"],
        summary="Add one image or many (`images`) to a repository's gallery",
        description=(
            "A repo Gazer does not know yet is looked up on GitHub and stored. "
            "Answers 201 when something was added, else 200."
        ),
        request=PolymorphicProxySerializer(
            component_name="GalleryAddIn",
            serializers=[GalleryAddOneIn, GalleryAddManyIn],
            resource_type_field_name=None,
        ),
        responses={
            201: GalleryAddOut,
            200: GalleryAddOut,
            **PATH_ERRORS,
            **AUTH_ERRORS,
            404: error_response("`user_not_found`, or `repo_not_found` (GitHub has no such repo)."),
            503: error_response("`github_unavailable`: GitHub could not be asked about the repo."),
        },
        examples=[
            OpenApiExample(
                "One image, linked",
                request_only=True,
                value={
                    "url": "https://example.com/screenshot.png",
                    "alt": "Landing page",
                    "original_url": "docs/images/shot.png",
                    "title": "Build success",
                    "is_highlight": True,
                    "taken_at": 1758888612000,
                    "link": True,
                },
            ),
            OpenApiExample(
                "Many images",
                request_only=True,
                value={
                    "images": [
                        {"url": "https://example.com/a.png", "alt": "A"},
                        {"url": "https://example.com/b.png", "is_highlight": True},
                    ],
                    "dedupe": "url",
                },
            ),
        ],
    )
    def post(self, request, username: str, owner: str, repo: str):
        ctx = _Context(username, owner, repo)
        data = request.data
        if isinstance(data, dict) and "images" in data:
            valid = gallery_input_validate(self.GalleryAddManyIn, data)
            images = [dict(item) for item in valid["images"]]
        else:
            valid = gallery_input_validate(self.GalleryAddOneIn, data)
            images = [
                {k: v for k, v in valid.items() if k not in ("dedupe", "link")},
            ]
        target = gallery.repo_get_or_fetch(
            full_name=ctx.full_name, token=token_decrypt(ctx.user.token_encrypted)
        )
        now = int(time.time() * 1000)
        for image in images:
            if image.get("taken_at") is None:
                image["taken_at"] = now
        result = gallery.gallery_images_add(repo=target, images=images, dedupe=valid["dedupe"])
        outcome: dict[str, Any] = {"repo_id": target.pk, **asdict(result)}
        if valid["link"]:
            outcome["linked"] = gallery.user_repo_link_manual(user_id=ctx.user.id, repo=target)
        return Response(self.GalleryAddOut(outcome).data, status=201 if result.added else 200)

    @extend_schema(
        operation_id="repo_gallery_remove",
        tags=["gallery"],
        summary="Remove images by URL (`?url=` repeatable, or body `urls` / `url`)",
        parameters=[
            OpenApiParameter(
                "url", OpenApiTypes.URI, many=True, description="An image URL to remove."
            )
        ],
        request=GalleryRemoveBodyIn,
        responses={
            200: GalleryRemoveOut,
            **PATH_ERRORS,
            **AUTH_ERRORS,
            404: error_response("`user_not_found` or `repo_not_found`."),
        },
    )
    def delete(self, request, username: str, owner: str, repo: str):
        ctx = _Context(username, owner, repo)
        urls: Any = request.query_params.getlist("url")
        if not urls:
            data = request.data if request.data is not None else {}
            if not isinstance(data, dict):
                raise BadRequest("The JSON body must be an object.", code="invalid_body")
            if "urls" in data:
                urls = data["urls"]
            elif "url" in data:
                urls = data["url"] if isinstance(data["url"], list) else [data["url"]]
            else:
                raise BadRequest(
                    'Give the URLs to remove: ?url=... or a body {"urls": [...]}.',
                    code="missing_url",
                )
        valid = gallery_input_validate(self.GalleryRemoveIn, {"urls": urls})
        target = repo_get(full_name=ctx.full_name)
        removed, count = gallery.gallery_images_remove(repo=target, urls=valid["urls"])
        return Response(self.GalleryRemoveOut({"removed": removed, "gallery_count": count}).data)

    @extend_schema(
        operation_id="repo_gallery_update",
        tags=["gallery"],
        summary="Update the fields of the image with this URL",
        request=GalleryUpdateIn,
        responses={
            200: GalleryUpdateOut,
            **PATH_ERRORS,
            **AUTH_ERRORS,
            404: error_response("`user_not_found`, `repo_not_found` or `image_not_found`."),
        },
    )
    def patch(self, request, username: str, owner: str, repo: str):
        ctx = _Context(username, owner, repo)
        valid = dict(gallery_input_validate(self.GalleryUpdateIn, request.data))
        url = valid.pop("url")
        if not valid:
            raise BadRequest(
                "Nothing to update: give alt, original_url, title, caption, is_highlight "
                "or taken_at.",
                code="no_changes",
            )
        if "taken_at" in valid and valid["taken_at"] is None:
            valid["taken_at"] = int(time.time() * 1000)
        if "original_url" in valid and not valid["original_url"]:
            valid["original_url"] = url
        target = repo_get(full_name=ctx.full_name)
        image = gallery.gallery_image_update(repo=target, url=url, changes=valid)
        return Response(self.GalleryUpdateOut({"image": image}).data)
