"""`carecall import-orders` and `carecall customers show` through the CLI."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

from typer.testing import CliRunner

from calls.cli import app
from calls.store import Store

runner = CliRunner()


def _csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_import_orders_then_customers_show(db_path, tmp_path):
    today = date.today()
    _csv(tmp_path / "c.csv", ["Customer Id", "Name", "Phone"],
         [["K1", "Kim", "(212) 555-0100"], ["K2", "Lou", "(312) 555-0100"]])
    assert runner.invoke(app, ["import", str(tmp_path / "c.csv")]).exit_code == 0
    recent = (today - timedelta(days=3)).isoformat()
    rows = [["100", "K1", recent, "2", "25.00"], ["101", "K1", "2020-01-02", "1", "10"],
            ["C102", "K1", recent, "-1", "25.00"], ["103", "ZZ", recent, "1", "5"],
            ["104", "", recent, "1", "5"], ["100", "K1", recent, "2", "25.00"]]
    path = _csv(tmp_path / "o.csv", ["Invoice", "Customer", "Date", "Quantity", "Unit Price"], rows)
    result = runner.invoke(app, ["import-orders", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["rows_read"], data["added"], data["pending"], data["duplicates"],
            data["no_customer"], data["cancellations"]) == (6, 3, 1, 1, 1, 1)
    text = runner.invoke(app, ["import-orders", str(path)])
    assert text.exit_code == 0
    assert "0 added" in " ".join(text.output.split())
    card = json.loads(runner.invoke(app, ["customers", "show", "K1", "--json"]).output)
    assert card["ref"] == "K1"
    assert card["tier"] == "A"
    assert card["revenue_12m"] == 25.0          # 50 sold, 25 credited
    assert card["revenue_lifetime"] == 35.0
    assert card["orders"] == 2
    assert (card["first_purchase"], card["last_purchase"]) == ("2020-01-02", recent)
    assert card["purchase_reason"] == "thank_you"
    assert [o["order_no"] for o in card["recent_orders"]][:2] in (["C102", "100"],
                                                                  ["100", "C102"])
    shown = runner.invoke(app, ["customers", "show", "K1"])
    assert shown.exit_code == 0
    assert "thank-you" in shown.output and "Kim" in shown.output
    with Store.open(db_path) as store:
        assert store.scalar("SELECT count(*) FROM order_lines") == 4


def test_user_errors(db_path, tmp_path):
    bad = _csv(tmp_path / "bad.csv", ["Foo", "Bar"], [["1", "2"]])
    for args, message in [
        (["import-orders", str(tmp_path / "none.csv")], "no such file"),
        (["import-orders", str(bad)], "no customer_ref / date / unit_price or amount"),
        (["import-orders", str(bad), "--map", "client=Foo"], "unknown field 'client'"),
        (["customers", "show", "NOPE"], "no customer with ref 'NOPE'"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split())
        assert "Traceback" not in result.output
