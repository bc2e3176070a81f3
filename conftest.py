# The QA plugin is hst_align_qa.fixtures.early (options, the pipeline child's early start),
# which registers hst_align_qa.fixtures.plugin (fixtures, report hooks); the
# installed package registers it through its pytest11 entry point, so nothing is loaded here.


def pytest_configure(config):
    # Real HST headers make astropy warn (non-standard keywords such as IDCTAB, D2IMFILE;
    # HIERARCH cards). These filters are added here, not in pyproject.toml's
    # filterwarnings: pytest imports an ini filter's category (astropy.wcs, 0.44 s by
    # python -X importtime) before it loads any plugin, and so delayed the start of the
    # pipeline's child by as much.
    config.addinivalue_line("filterwarnings", "ignore::astropy.wcs.FITSFixedWarning")
    config.addinivalue_line("filterwarnings", "ignore::astropy.io.fits.verify.VerifyWarning")
