"""Tools for developers, the tests and the benchmark; never installed in production.

``core/settings.py`` installs this app only with ``DEVTOOLS`` (default: ``DEBUG``); the tests turn it
on in pyproject.toml, ``bench/settings.py`` always. No production module imports it
(core/tests/test_layout.py).

- ``quickstart`` (``make run``) with ``demo_data`` and ``demo_content``: the demo installation.
- ``generate_data`` with ``data_generator`` and ``data_generator_words``: production-sized data;
  ``benchmark_analysis`` times the analysis page; ``bench``: the instruments of ``bench/run``.
- ``fake_entra`` (``make run-entra``), ``fake_graph`` and ``local_server``: Microsoft Entra ID and
  Graph as real local HTTP servers, for the tests, offline development and ``smoke_fakes``, the
  fakes of ``deploy/smoke_test.sh``.
"""
