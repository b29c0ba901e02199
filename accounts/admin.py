from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from social_django.models import Association, Code, Nonce, Partial, UserSocialAuth

from accounts.models import User
from accounts.tokens import PROVIDER


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "sign_in_method", "is_active", "last_login"]
    list_filter = [*BaseUserAdmin.list_filter]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Work details (from Microsoft)"), {"fields": ["job_title", "department", "office_location"]}),
        (_("Preferences"), {"fields": ["language", "theme"]}),
        (_("Absence (IT staff)"), {"fields": ["absent_from", "absent_until"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request):
        microsoft = UserSocialAuth.objects.filter(user=OuterRef("pk"), provider=PROVIDER)
        return super().get_queryset(request).annotate(uses_microsoft=Exists(microsoft))

    @admin.display(description=_("signs in with"), ordering="uses_microsoft")
    def sign_in_method(self, user) -> str:
        return _("Microsoft") if user.uses_microsoft else _("local password")


# social-auth's own admin shows extra_data, where the (encrypted) tokens live. Ours shows only
# which Microsoft account belongs to which user.
for model in (UserSocialAuth, Nonce, Association, Code, Partial):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(UserSocialAuth)
class MicrosoftAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "provider", "uid", "created", "modified"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "uid"]
    fields = ["user", "provider", "uid", "created", "modified"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
