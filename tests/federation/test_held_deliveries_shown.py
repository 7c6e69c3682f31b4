"""Operators see the deliveries kept for hubs taken off the allow-list: on the partner hubs page, the System
page and the metrics, in the reader's language, apart from the failed ones."""
from __future__ import annotations

import re

from tests.federation.test_allowlist_relisting import _follow_held_off_the_list
from tests.helpers import post_form

TOKEN = "metrics-token-for-held-deliveries"


def test_a_delivery_held_for_a_hub_off_the_allow_list_is_counted_apart_from_failed_ones(
        app, client, login_as, people, peer_server, make_peer):
    page, _follow_id = _follow_held_off_the_list(app, client, login_as, people, peer_server, make_peer)
    for lang, held, failed in (("en", "1 delivery waits until its hub is on the allow-list again.", "failed: 0"),
                               ("zh_Hans", "1 项投递将在其平台重新加入允许名单后发送。", "失败：0")):
        partners = client.get(f"/admin/partners/?lang={lang}").get_data(as_text=True)
        assert held in partners and failed in partners, lang
        system = client.get(f"/admin/system?lang={lang}").get_data(as_text=True)
        facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", system))
        label = {"en": "Deliveries held for hubs off the allow-list", "zh_Hans": "为允许名单外的平台保留的投递"}[lang]
        assert facts[label] == "1" and facts[{"en": "Failed deliveries", "zh_Hans": "投递失败"}[lang]] == "0", facts
    app.config["METRICS_TOKEN"] = TOKEN
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert 'hub_federation_deliveries{state="held"} 1.0' in metrics
    assert 'hub_federation_deliveries{state="dead"} 0.0' in metrics
    # Listed again, it goes, and nothing is held any more.
    assert post_form(client, page + "/allowlist/on", {}, form_url=page).status_code == 302
    from hub.federation import delivery
    delivery.send_due(app, wait=True)
    assert "delivery waits until" not in client.get("/admin/partners/?lang=en").get_data(as_text=True)
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert 'hub_federation_deliveries{state="held"} 0.0' in metrics
