# The QA plugin is hst_align_qa.fixtures.plugin (light first hooks; it registers
# hst_align_qa.fixtures.qa_hooks, the rest, with the fixtures from
# hst_align_qa.fixtures.fixtures); the installed package registers it through its pytest11
# entry point, so nothing is loaded here.


def pytest_configure(config):
    # Real HST headers make astropy warn (non-standard keywords such as IDCTAB, D2IMFILE;
    # HIERARCH cards): expected, not a fault of the run.
    config.addinivalue_line("filterwarnings", "ignore::astropy.wcs.FITSFixedWarning")
    config.addinivalue_line("filterwarnings", "ignore::astropy.io.fits.verify.VerifyWarning")
