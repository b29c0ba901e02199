from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ["language", "theme"]}),
    ]
