from engine import TreeState
from engine.check import check_database


async def test_a_tree_grows_to_export_and_the_database_checks_clean(driver, db):
    tree_id = await driver.exported_tree()
    assert (await driver.engine.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT
    assert await check_database(db) == []
