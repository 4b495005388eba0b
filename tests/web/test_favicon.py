"""/favicon.ico: browsers, feed readers and the admin ask for it on every site."""

ICO = b"\x00\x00\x01\x00"


def test_favicon_is_answered_without_the_database(client):
    """No database marker: any query made for it would fail this test."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == ICO
