def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "sees_all_appointments": user.sees_all_appointments,
        "can_use_admin": user.is_staff or user.has_perm("sessions_app.use_admin"),
        "can_unlock_accounts": user.unlocks_accounts,
        # Mentors (who see only their own sessions) keep their address and bank details on "My details".
        "has_my_details": not user.sees_all_appointments and user.has_perm("sessions_app.view_serviceappointment"),
    }
