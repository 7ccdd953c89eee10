"""The readiness PDF when xhtml2pdf cannot draw it: the HTML report with an error and 503, never a 404."""


def test_pdf_failure_shows_the_html_report_with_503(client, release, monkeypatch, viewer):
    # given a PDF renderer that reports an error
    monkeypatch.setattr("gates.report_views.render_pdf", lambda html: None)
    client.force_login(viewer)
    # when the PDF is asked for
    r = client.get(f"/releases/{release.pk}/readiness.pdf")
    # then the HTML report comes back with the error, as a 503 (the server failed, the address is right)
    assert r.status_code == 503
    assert r["Content-Type"].startswith("text/html")
    body = r.content.decode()
    assert "The PDF could not be drawn just now" in body and release.version in body
