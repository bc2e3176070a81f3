# The QA plugin (options, fixtures, report hooks) is hst_align_qa.fixtures.plugin; the
# installed package registers it through its pytest11 entry point, so nothing is loaded here.
