"""What each column of the published tables means: the output contract, column by column.

Every materialisation's column schema (`dagster/column_schema`, storage/publish.py) carries these descriptions, so
the UI shows them beside the types. User features follow docs/features.md; the perk, segment and campaign tables
the README's asset table and docs/perk_model.md. A column without an entry has no description.
"""

from __future__ import annotations

from traveltide_assets.lib.catalog import PERK_LABELS

_USER_ID = "TravelTide user id of a cohort customer"

# docs/features.md's meanings and units, word for word where a row names one feature.
USER_FEATURES: dict[str, str] = {
    "user_id": "TravelTide user id",
    "age": "Age at the cohort start date [years]",
    "gender": "Gender, as in the source's users table",
    "married": "Married, as in the source's users table",
    "has_children": "Has children, as in the source's users table",
    "home_city": "Home city",
    "home_airport": "Home airport",
    "sessions": "Cohort sessions (after the cohort start) [count]",
    "total_clicks": "Page clicks over all cohort sessions, outliers capped at the p99 of ordinary sessions [clicks]",
    "avg_clicks": "Mean page clicks per ordinary (non-cancellation) session [clicks]",
    "avg_session_minutes": "Mean length of ordinary (non-cancellation) sessions; cancellations are long by nature "
    "[minutes]",
    "bookings": "Booking sessions [count]",
    "trips": "Bookings not cancelled later [count]",
    "flights": "Trips with a flight [count]",
    "hotels": "Trips with a hotel [count]",
    "cancellations": "Cancellation sessions [count]",
    "booking_rate": "Bookings / sessions [share]",
    "bundle_rate": "Bookings with flight and hotel / bookings [share]",
    "flight_only_rate": "Bookings with a flight only / bookings [share]",
    "hotel_only_rate": "Bookings with a hotel only / bookings [share]",
    "cancellation_rate": "Cancellations / bookings [share (can exceed 1 when earlier trips are cancelled)]",
    "avg_lead_days": "Mean days from the booking session's end to departure (or check-in) [days]",
    "avg_fare_usd": "Mean base fare of flights (zero fares unknown) [USD]",
    "avg_hotel_per_night_usd": "Mean price per room-night [USD]",
    "dollars_saved_usd": "Fare x flight discount + room price x nights x rooms x hotel discount, over trips [USD]",
    "discount_offered_rate": "Sessions offered a flight or hotel discount / sessions (cancellations excluded) [share]",
    "discount_used_rate": "Bookings made with a discount offered / bookings [share]",
    "avg_discount_amount": "Mean discount fraction offered [fraction]",
    "bargain_hunter_index": "discount_used_rate x mean discount fraction of discounted bookings [fraction]",
    "avg_distance_km": "Mean great-circle (haversine) distance home airport -> destination [km]",
    "avg_nights": "Mean nights of hotel stays (recomputed from dates where inconsistent) [nights]",
    "avg_bundle_nights": "Mean nights of stays booked with a flight [nights]",
    "avg_seats": "Mean seats per flight (zero seats unknown) [seats]",
    "avg_checked_bags": "Mean checked bags per flight [bags]",
    "bags_per_seat": "Mean checked bags per seat [bags]",
    "avg_rooms": "Mean rooms per stay (zero rooms unknown) [rooms]",
    "weekend_trip_rate": "Flights leaving Friday/Saturday for 1-3 nights / flights [share]",
}

PERK_SCORES: dict[str, str] = {
    "user_id": _USER_ID,
    **{
        f"score_{perk}": f"Descriptive affinity for '{label}': weighted mean of its drivers' robust z-scores, "
        "re-standardised to cohort mean 0 and sd 1 (docs/features.md)"
        for perk, label in PERK_LABELS.items()
    },
}

PERK_PROBABILITIES: dict[str, str] = {
    "user_id": _USER_ID,
    **{
        f"p_{perk}": f"Probability that '{label}' is the customer's favourite perk (latent-class model, "
        "docs/perk_model.md); a row's five probabilities sum to 1"
        for perk, label in PERK_LABELS.items()
    },
}

PERK_ASSIGNMENTS: dict[str, str] = {
    "user_id": _USER_ID,
    "favourite_perk": "The most probable perk (perk_probabilities)",
    "favourite_perk_label": "The favourite perk as marketing names it",
    "probability": "Probability of the favourite perk",
    "runner_up_perk": "The second most probable perk",
    "runner_up_probability": "Probability of the runner-up perk",
    "confidence": "high where probability is at least the perk_model resource's high_confidence (0.6), medium from "
    "medium_confidence (0.4), else low; chance is 0.2",
    "score": "Descriptive affinity score of the favourite perk (perk_scores)",
    "runner_up_score": "Descriptive affinity score of the runner-up perk (perk_scores)",
    "margin": "probability - runner_up_probability",
    "reason": "The behaviour behind the favourite: its strongest driver against the cohort median",
    "segment": "The customer's k-means segment (user_segments)",
}

PERK_SUMMARY: dict[str, str] = {
    "segment": "User segment; NULL = all cohort customers",
    "favourite_perk": "A favourite perk",
    "users": "Customers of the segment with this favourite perk",
    "share_of_segment": "users / the segment's customers",
    "mean_probability": "Mean probability of the favourite perk",
    "mean_score": "Mean descriptive affinity score of the favourite perk",
    "mean_margin": "Mean margin: probability - runner-up's probability",
}

USER_SEGMENTS: dict[str, str] = {
    "user_id": _USER_ID,
    "segment": "k-means segment on the robust z-scores of the perk drivers, k in 2..8 by the best silhouette "
    "(profiles in user_segment_profiles)",
}

ASSIGNMENT_RELIABILITY: dict[str, str] = {
    "perk": "A perk (agreement on whether it is the favourite), or all (agreement on the favourite itself)",
    "customers": "Customers counted: those this perk is the favourite of on either half; for all, every customer",
    "observed_agreement": "Share of customers whose two halves of sessions agree",
    "chance_agreement": "Agreement expected by chance from the two halves' perk shares",
    "kappa": "Cohen's kappa: (observed - chance) / (1 - chance)",
    "predicted_agreement": "The agreement the probabilities imply if they are honest (docs/perk_model.md)",
}

CAMPAIGN_PLAN: dict[str, str] = {
    "campaign_id": "The invitation campaign (the campaign resource's campaign_id)",
    "user_id": _USER_ID,
    "arm": "personalised, generic (the control) or random_perk; drawn within each favourite perk x confidence band",
    "email_perk": "The perk the email leads with; all_perks for the generic email",
    "template": "The email template: invite_<perk> or invite_generic",
    "favourite_perk": "The customer's favourite perk when planned",
    "probability": "Probability of the favourite perk when planned",
    "confidence": "Confidence band of the favourite perk when planned",
    "assigned_at": "When the customer was planned; frozen through refreshes",
}

CAMPAIGN_SIGNUPS: dict[str, str] = {
    "campaign_id": "The invitation campaign",
    "user_id": "A customer who signed up",
    "signed_up_at": "When the customer signed up (UTC)",
}

CAMPAIGN_READOUT: dict[str, str] = {
    "scope": "arm, arm_x_favourite_perk or arm_x_confidence: the breakdown of the row",
    "arm": "The experiment arm",
    "level": "all, or the favourite perk or confidence band as planned",
    "customers": "Planned customers of the group",
    "signups": "Customers of the group who signed up",
    "rate": "signups / customers",
    "ci_low": "Lower end of the rate's 95% interval (Wilson)",
    "ci_high": "Upper end of the rate's 95% interval (Wilson)",
}

CAMPAIGN_UPLIFT: dict[str, str] = {
    "comparison": "personalised_vs_generic or personalised_vs_random_perk",
    "difference": "Sign-up rate of personalised minus that of the other arm (fraction)",
    "ci_low": "Lower end of the difference's 95% interval (Newcomb's hybrid score)",
    "ci_high": "Upper end of the difference's 95% interval (Newcomb's hybrid score)",
    "p_value": "Two-sided p-value of no difference (score test)",
    "verdict": "The reading of the interval: wholly above 0, wholly below, or no evidence either way",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "user_features": USER_FEATURES,
    "perk_scores": PERK_SCORES,
    "perk_probabilities": PERK_PROBABILITIES,
    "perk_assignments": PERK_ASSIGNMENTS,
    "perk_summary": PERK_SUMMARY,
    "user_segments": USER_SEGMENTS,
    "assignment_reliability": ASSIGNMENT_RELIABILITY,
    "campaign_plan": CAMPAIGN_PLAN,
    "campaign_signups": CAMPAIGN_SIGNUPS,
    "campaign_readout": CAMPAIGN_READOUT,
    "campaign_uplift": CAMPAIGN_UPLIFT,
}


def column_description(table: str, column: str) -> str | None:
    """The meaning of a published table's column, if the contract states one."""
    return COLUMN_DESCRIPTIONS.get(table, {}).get(column)
