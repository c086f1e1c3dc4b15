"""`mailbot tickets list | head`: when the reader goes away, mailbot stops quietly (no traceback)."""

import mailbot.cli as cli


def test_a_reader_that_went_away_ends_the_command_quietly(monkeypatch, capfd):
    def reader_gone(_args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_cmd_status", reader_gone)
    assert cli.main(["status", "--config", "mailbot.toml"]) == 141
    assert "Traceback" not in capfd.readouterr().err
